/**
 * The CPU backend's WebAssembly runtime: the SIMD kernels (wasm/kernels.wasm, built from
 * AssemblyScript), one shared memory that CPU tensors live in (so kernels and worker threads read
 * them in place), a size-class heap over it, and a pool of worker threads for large kernels.
 *
 * LLMTS_WASM=0 turns the WebAssembly kernels off (the plain TypeScript kernels run instead);
 * LLMTS_THREADS=n (or setNumThreads) sets the compute threads, the main thread included;
 * LLMTS_FMA=0 keeps the plain SIMD build instead of the fused multiply-add one.
 *
 * In a browser page (see #host) the kernels are fetched by `init()`, the threads are module web
 * workers started there (only when the page is cross-origin isolated), and the page's main thread,
 * which may not sleep, spins while the workers finish their share.
 */
import { host } from '#host';
import type { ComputeWorker } from '../../host/types.ts';
import { notice, setting } from '../../env/env.ts';

const PAGE = 65536;
const MAX_PAGES = 65536; // 4 GiB, the wasm32 limit
/** Bytes the CPU backend's heap can hold. */
export const HEAP_LIMIT = MAX_PAGES * PAGE;
const RESERVED = PAGE; // the module's own data and stack live below this

/** Size classes: 64-byte steps up to 64 KiB, then eighths of a power of two. */
function sizeClass(bytes: number): number {
  const b = Math.max(bytes, 64);
  if (b <= 65536) return Math.ceil(b / 64) * 64;
  const step = 2 ** (Math.floor(Math.log2(b)) - 3);
  return Math.ceil(b / step) * step;
}

/** A free-list allocator over the shared memory (no coalescing: training loops reuse sizes). */
export class Heap {
  private top = RESERVED;
  private readonly free = new Map<number, number[]>();

  constructor(readonly memory: WebAssembly.Memory) {}

  /** A 64-byte aligned block, or -1 when the 4 GiB memory is exhausted. */
  alloc(bytes: number): number {
    const size = sizeClass(bytes);
    const reused = this.free.get(size)?.pop();
    if (reused !== undefined) return reused;
    const ptr = this.top;
    const end = ptr + size;
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      const pages = Math.ceil((end - have) / PAGE);
      const grow = Math.max(pages, Math.min(Math.ceil(have / PAGE / 4), MAX_PAGES - have / PAGE)); // grow by >= 25%
      try {
        this.memory.grow(grow);
      } catch {
        try { this.memory.grow(pages); } catch { return -1; }
      }
    }
    this.top = end;
    return ptr;
  }

  release(ptr: number, bytes: number): void {
    const size = sizeClass(bytes);
    let list = this.free.get(size);
    if (list === undefined) this.free.set(size, (list = []));
    list.push(ptr);
  }

  get committedBytes(): number {
    return this.top;
  }
}

type Exports = Record<string, (...args: number[]) => number | void>;

/** Worker threads sharing the memory; each task runs on the main thread too (as thread 0). */
class ThreadPool {
  private readonly workers: ComputeWorker[] = [];
  private readonly ctrl: Int32Array;
  private readonly args: Float64Array;
  private readonly names: string[];
  /** Settles when every worker waits for work (at once in Node; a page's workers boot asynchronously). */
  readonly ready: Promise<void>;
  started = !host.asyncWorkers;

  constructor(private readonly rt: WasmRuntime, readonly threads: number) {
    const ptr = rt.heap.alloc(64 + 24 * 8);
    this.ctrl = new Int32Array(rt.memory.buffer, ptr, 16);
    this.args = new Float64Array(rt.memory.buffer, ptr + 64, 24);
    this.ctrl.fill(0);
    this.names = Object.keys(rt.exports).filter((k) => typeof rt.exports[k] === 'function').sort();
    for (let tid = 1; tid < threads; tid++) this.workers.push(host.startWorker({ module: rt.module, memory: rt.memory, ctrlPtr: ptr, tid, generation: 0 }));
    this.ready = Promise.all(this.workers.map((w) => w.ready)).then(() => {
      this.started = true;
    });
    this.ready.catch(() => {}); // a pool made lazily is only used once started; startThreads reports failures
  }

  /** Stop the workers (a page whose workers failed to start). */
  terminate(): void {
    for (const w of this.workers) w.terminate();
  }

  /** Run `fn(...args, tid, nt)` on every thread and wait for all of them. */
  run(fn: string, args: readonly number[], nt: number): void {
    const index = this.names.indexOf(fn);
    if (index < 0) throw new Error(`wasm: no kernel named ${fn}`);
    const c = this.ctrl;
    this.args.set(args);
    Atomics.store(c, 2, index);
    Atomics.store(c, 3, args.length);
    Atomics.store(c, 4, nt);
    Atomics.store(c, 5, 0);
    Atomics.store(c, 1, nt - 1);
    Atomics.add(c, 0, 1);
    Atomics.notify(c, 0);
    this.rt.exports[fn]!(...args, 0, nt);
    // the workers usually finish within microseconds of this thread: poll before sleeping
    for (let i = 0; i < 200000 && Atomics.load(c, 1) !== 0; i++);
    const start = Date.now();
    for (;;) {
      const left = Atomics.load(c, 1);
      if (left === 0) break;
      if (host.canBlock) Atomics.wait(c, 1, left, 1000);
      if (Date.now() - start > 120_000) throw new Error(`wasm: ${left} worker thread(s) did not finish kernel ${fn} within 120 s`);
    }
    if (Atomics.load(c, 5) !== 0) throw new Error(`wasm: kernel ${fn} failed in a worker thread`);
  }
}

export class WasmRuntime {
  readonly memory: WebAssembly.Memory;
  readonly module: WebAssembly.Module;
  readonly exports: Exports;
  readonly heap: Heap;
  private pool: ThreadPool | null = null;
  private threads: number;

  constructor(bytes: Uint8Array, readonly variant: 'simd' | 'simd+fma') {
    this.memory = new WebAssembly.Memory({ initial: 256, maximum: MAX_PAGES, shared: true });
    this.module = new WebAssembly.Module(bytes);
    const instance = new WebAssembly.Instance(this.module, { env: { memory: this.memory, abort: () => { throw new Error('wasm abort'); } } });
    this.exports = instance.exports as unknown as Exports;
    this.heap = new Heap(this.memory);
    this.threads = threadsSetting() ?? Math.min(host.cpuCount(), 8);
  }

  get numThreads(): number {
    return this.threads;
  }

  setNumThreads(n: number): void {
    if (!Number.isInteger(n) || n < 1) throw new Error(`setNumThreads: need a positive integer, got ${n}`);
    if (this.pool !== null && this.pool.threads < n) {
      this.pool.terminate();
      this.pool = null;
    }
    this.threads = n;
  }

  private scratchPtr = -1;
  private scratchFor = 0;

  /** Per-thread scratch (`bytesPerThread` each, for every thread), kept between calls. */
  scratch(bytesPerThread: number): number {
    const need = bytesPerThread * this.threads;
    if (need > this.scratchFor) {
      if (this.scratchPtr >= 0) this.heap.release(this.scratchPtr, this.scratchFor);
      this.scratchPtr = this.heap.alloc(need);
      if (this.scratchPtr < 0) throw new Error('wasm: out of memory for kernel scratch space');
      this.scratchFor = need;
    }
    return this.scratchPtr;
  }

  /** Run a kernel on `nt` threads (1 = here, no workers). */
  run(fn: string, args: readonly number[], nt = 1): void {
    if (nt > 1 && this.threads > 1) this.pool ??= new ThreadPool(this, this.threads);
    if (nt <= 1 || this.pool === null || !this.pool.started) {
      this.exports[fn]!(...args, 0, 1);
      return;
    }
    this.pool.run(fn, args, Math.min(nt, this.pool.threads));
  }

  /**
   * Start the compute threads now and wait until they listen (a page's must be started this way,
   * before kernels run: its main thread cannot wait for a worker to boot). On failure the kernels
   * run on one thread and the reason is returned.
   */
  async startThreads(): Promise<string | null> {
    if (this.threads <= 1) return null;
    this.pool ??= new ThreadPool(this, this.threads);
    try {
      await this.pool.ready;
      return null;
    } catch (e) {
      this.pool.terminate();
      this.pool = null;
      this.threads = 1;
      return (e as Error).message;
    }
  }
}

let runtime: WasmRuntime | null | undefined;
let kernelsOn = true;

/**
 * Turn the WebAssembly kernels off or on (tensors stay where they are); with them off the plain
 * TypeScript kernels run, which is how the tests compare the two.
 */
export function setWasmKernels(enabled: boolean): void {
  kernelsOn = enabled;
}

/** The runtime when its kernels should run now, else null. */
export function wasmKernels(): WasmRuntime | null {
  return kernelsOn ? wasmRuntime() : null;
}

/** LLMTS_THREADS, checked: a positive integer, or undefined when unset. */
function threadsSetting(): number | undefined {
  const raw = setting('LLMTS_THREADS');
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < 1) throw new Error(`LLMTS_THREADS must be a positive integer (CPU threads, main thread included), got '${raw}'`);
  return n;
}

/** The WebAssembly runtime, created on first use; null when disabled or unavailable. */
export function wasmRuntime(): WasmRuntime | null {
  if (runtime !== undefined) return runtime;
  threadsSetting();
  if (setting('LLMTS_WASM') === '0') return (runtime = null);
  const kernels = loadKernels();
  if (kernels === null) return null; // a page before init() fetched them: the TypeScript kernels run meanwhile
  try {
    runtime = new WasmRuntime(...kernels);
  } catch (e) {
    notice(`WebAssembly kernels unavailable (${(e as Error).message}); using the TypeScript kernels`);
    runtime = null;
  }
  return runtime;
}

/**
 * Fetch the kernels where they must be fetched (a page: from `base`, default the package's wasm/
 * folder) and start a page's compute threads (Node starts them at the first large kernel); returns
 * what did not work, or null.
 */
export async function prepareWasm(base?: string | URL): Promise<string | null> {
  if (setting('LLMTS_WASM') === '0') return null;
  try {
    await host.prepare(base);
  } catch (e) {
    return (e as Error).message;
  }
  const rt = wasmRuntime();
  if (rt === null) return 'the WebAssembly kernels could not be compiled';
  return host.asyncWorkers ? rt.startThreads() : null; // Node starts them at the first large kernel
}

/**
 * The kernels with relaxed SIMD's fused multiply-add when the engine accepts them (Node 22+ and
 * browsers do by default; Node 20 after V8's --experimental-wasm-relaxed-simd, which is set here
 * before compiling), else the plain 128-bit SIMD build; null when not loaded yet.
 */
function loadKernels(): [Uint8Array, 'simd' | 'simd+fma'] | null {
  if (setting('LLMTS_FMA') !== '0') {
    const fma = host.wasmBytes('kernels-fma.wasm');
    if (fma === null) return null;
    if (!WebAssembly.validate(fma)) host.engineFlag('--experimental-wasm-relaxed-simd');
    if (WebAssembly.validate(fma)) return [fma, 'simd+fma'];
  }
  const plain = host.wasmBytes('kernels.wasm');
  return plain === null ? null : [plain, 'simd'];
}

/** Which kernel build runs ('simd' or 'simd+fma'), or null without WebAssembly. */
export function wasmVariant(): string | null {
  return wasmRuntime()?.variant ?? null;
}

/** Byte address of a typed array living in the WebAssembly heap, or -1 for a plain JS array. */
export function heapAddress(a: { buffer: ArrayBufferLike; byteOffset: number }): number {
  return a.buffer instanceof (Shared ??= sharedBufferClass()) ? a.byteOffset : -1;
}

let Shared: (abstract new (...args: never[]) => object) | undefined;

/** SharedArrayBuffer, which a page that is not cross-origin isolated does not name (its wasm memory still is one). */
function sharedBufferClass(): abstract new (...args: never[]) => object {
  if (typeof SharedArrayBuffer === 'function') return SharedArrayBuffer;
  return new WebAssembly.Memory({ initial: 0, maximum: 1, shared: true }).buffer.constructor as abstract new (...args: never[]) => object;
}
