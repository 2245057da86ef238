/// <reference types="@webgpu/types" preserve="true" />
/**
 * What the tensor library needs from its host, Node or a browser page: the kernel files, compute
 * threads, the engine's garbage collector, WebGPU, and (Node only) files. `#host` resolves to
 * node.ts or browser.ts by the package's conditional imports, so a browser bundle never sees a
 * Node built-in.
 */

/** What a compute thread is started with: the kernels, the shared memory and its control block. */
export interface WorkerStart {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  ctrlPtr: number;
  tid: number;
  generation: number;
}

/** A started compute thread: `ready` settles once it is waiting for work. */
export interface ComputeWorker {
  ready: Promise<void>;
  terminate(): void;
}

/** A file opened for reading at offsets. */
export interface ReadableFile {
  readonly size: number;
  /** Fill `into` from byte `position`; the count read (0 at the end). */
  read(into: Uint8Array, position: number): number;
  close(): void;
}

/** The garbage collector reachable synchronously (Node), for the backstop of forgotten tensors. */
export interface PrivateRealm {
  FinalizationRegistry: typeof FinalizationRegistry;
  gc: (() => void) | null;
}

export interface Host {
  readonly name: 'node' | 'browser';
  /** Whether this thread may sleep in `Atomics.wait` (a page's main thread may not: it spins). */
  readonly canBlock: boolean;
  /** Threads worth using for compute (1 where memory cannot be shared with workers). */
  cpuCount(): number;
  /** A kernel file's bytes, or null when they are not loaded yet (a page fetches them in `prepare`). */
  wasmBytes(name: string): Uint8Array | null;
  /** Load what `wasmBytes` returns (a page fetches from `base`); Node reads files on demand. */
  prepare(base?: string | URL): Promise<void>;
  /** Whether compute threads start only asynchronously (a page: `startWorker` then await `ready`). */
  readonly asyncWorkers: boolean;
  startWorker(data: WorkerStart): ComputeWorker;
  /** Set a V8 flag (Node); a no-op where the engine's flags cannot be set. */
  engineFlag(flag: string): void;
  privateRealm(): PrivateRealm | null;
  /** The WebGPU entry point: `navigator.gpu`, or Dawn in Node (with its toggles). */
  gpu(dawnFlags: string[]): Promise<GPU>;
  /** Run `fn` with native writes to stderr hidden (Node on Linux); elsewhere just run it. */
  quietNative<T>(fn: () => Promise<T>): Promise<T>;
  /** Files (Node); in a page each throws an error naming the alternative. */
  openRead(path: string): ReadableFile;
  writeFileAtomic(path: string, chunks: readonly Uint8Array[] | Uint8Array | string): void;
  syncDir(dir: string): void;
  processAlive(pid: number): boolean;
}
