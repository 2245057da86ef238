import type { DType, TypedArray } from '../dtype.ts';
import type { Shape } from '../shape.ts';

export type Device = 'cpu' | 'gpu';

/** Memory owned by a backend. Views share it; it is freed when the last view lets go. */
export interface Storage {
  readonly device: Device;
  readonly dtype: DType;
  /** Elements the storage holds. */
  readonly length: number;
  /** Number of tensors viewing this storage. */
  refs: number;
  /** Set once freed; using it afterwards is a bug that must fail loudly. */
  freed: boolean;
  /** Set when a tensor holding it was given other memory (`setData`): a captured graph that uses it is stale. */
  replaced?: boolean;
}

/** A strided window on a storage: what a kernel reads. */
export interface View {
  readonly storage: Storage;
  readonly shape: Shape;
  readonly strides: Shape;
  readonly offset: number;
  readonly dtype: DType;
}

/** What a kernel must produce: a fresh contiguous output of this shape and dtype. */
export interface OutputSpec {
  readonly shape: Shape;
  readonly dtype: DType;
}

/** A CPU view with its array resolved. */
export interface CpuView {
  readonly data: TypedArray;
  readonly shape: Shape;
  readonly strides: Shape;
  readonly offset: number;
  readonly dtype: DType;
  /** Byte address of data[0] in the WebAssembly heap, or -1 when the data is a plain JS array. */
  readonly ptr?: number;
}

/** A CPU kernel: fills the (zeroed, contiguous) outputs from the inputs. */
export type CpuKernel<A> = (outputs: TypedArray[], inputs: CpuView[], attrs: A, specs: readonly OutputSpec[]) => void;

/**
 * What a GPU dispatch binds, in binding order: an input view, an output, a scratch buffer, or the
 * backend's error buffer (for kernels that validate their input, see `GpuKernelContext.check`).
 */
export type GpuBindingRef = { input: number } | { output: number } | { scratch: number } | { errors: true };

/**
 * What a validating GPU kernel found wrong: the code it passed to `fail(code, a, b)` and the two
 * words it recorded (bit patterns of u32/i32/f32 values).
 */
export interface GpuFailure {
  code: number;
  a: number;
  b: number;
}

/** One compute dispatch: a WGSL module (entry point `main`), its buffers, u32 params, and its size. */
export interface GpuDispatch {
  code: string;
  /** Buffers for bindings 0..n-1; the params buffer is bound last (binding n) by the backend. */
  bindings: readonly GpuBindingRef[];
  params: ArrayLike<number>;
  /** Workgroup counts, or `{ threads, size }` to launch ceil(threads/size) groups on a 2-D grid. */
  workgroups: readonly [number, number?, number?] | { threads: number; size: number };
  /**
   * Indices of the params words that hold a random draw's key (`nextDrawKey()`): a captured graph
   * draws those keys afresh at every replay, as running the ops again would (see graph.ts).
   */
  keyWords?: readonly number[];
  /**
   * The params again, for a replay of a captured graph: kernels whose params follow host state
   * that changes from step to step (an optimizer's learning rate and step count) recompute them
   * here, after the graph's replay hooks have run (see `onReplay`).
   */
  refresh?: () => ArrayLike<number>;
}

export interface GpuCaps {
  f16: boolean;
  subgroups: boolean;
  maxWorkgroupStorage: number;
  /** Storage buffers one dispatch may bind (the params buffer is one of them). */
  maxStorageBuffers: number;
}

/** The GPU backend's side of a kernel: it issues dispatches through this context. */
export interface GpuKernelContext {
  readonly caps: GpuCaps;
  dispatch(d: GpuDispatch): void;
  /** Zero-fill an output before dispatches add into it. */
  clearOutput(index: number): void;
  /** A temporary buffer of `bytes`, released when the kernel has been encoded. */
  scratch(bytes: number): number;
  /**
   * Register a check for the next dispatch: returns the slot the kernel passes to WGSL's `fail()`
   * (bind `{ errors: true }` and declare it with `errorBinding`). If the kernel fails, the next
   * read or sync throws `describe(failure)`, the same error the CPU throws at once.
   */
  check(describe: (failure: GpuFailure) => string): number;
  /** The storage buffers a binding takes: 1, or more when its tensor is larger than one binding and is bound in windows. */
  bindingsOf(ref: GpuBindingRef): number;
}

export type GpuKernel<A> = (ctx: GpuKernelContext, inputs: readonly View[], outputs: readonly OutputSpec[], attrs: A) => void;

/**
 * One kernel, declared once per op (or op family): the CPU function and the WGSL program builder
 * sit side by side. A backend runs the half it understands.
 */
export interface Kernel<A = unknown> {
  readonly name: string;
  readonly cpu: CpuKernel<A>;
  /** The WebGPU implementation; absent means the GPU cannot run this kernel (a clear error, never a CPU fallback). */
  readonly gpu?: GpuKernel<A>;
  /** The CPU outputs must start zero-filled (the kernel writes only part of them). */
  readonly zeroInit?: boolean;
}

/** The narrow interface every backend implements. */
export interface Backend {
  readonly device: Device;
  /** What the GPU offers kernels (absent on the CPU). */
  readonly caps?: GpuCaps;
  /** Storage bindings a storage takes in one GPU dispatch (more than one when bound in windows). */
  bindingsOf?(storage: Storage): number;
  /** A zero-filled storage. */
  alloc(dtype: DType, length: number): Storage;
  upload(dtype: DType, data: TypedArray): Storage;
  /** Contiguous copy of the viewed elements. The only place a GPU waits. */
  read(view: View): Promise<TypedArray>;
  /** Synchronous read, CPU only (used by CPU-side samplers and tests). */
  readSync?(view: View): TypedArray;
  free(storage: Storage): void;
  exec<A>(kernel: Kernel<A>, inputs: readonly View[], outputs: readonly OutputSpec[], attrs: A): Storage[];
  /** In-place kernels (optimizer updates): outputs are the given storages, mutated. */
  execInPlace<A>(kernel: Kernel<A>, inputs: readonly View[], targets: readonly Storage[], attrs: A): void;
  /** Wait until queued work is done. */
  sync(): Promise<void>;
  /** Bytes held by live storages of this backend. */
  liveBytes(): number;
  /** Bytes a storage counts for in `liveBytes()`. */
  storageBytes(storage: Storage): number;
  /** Live and peak bytes, and the backend's own pools. */
  memoryStats(): MemoryStats;
  /** Start measuring the peak from the bytes live now. */
  resetPeak(): void;
  /**
   * A shared 0-d storage holding a constant (the number operand of `x.mul(0.5)`), made once by
   * `make` and reused by every later use, never freed; null to make a fresh one each time. The
   * GPU keeps them so a number costs no fill dispatch; they do not count as live bytes.
   */
  constant?(key: string, make: () => Storage): Storage | null;
  /**
   * GPU: record what is encoded from now on (it still runs) until `endCapture`, which returns it as
   * work to submit again; see graph.ts. Absent where a backend cannot replay work.
   */
  beginCapture?(): void;
  /**
   * End the capture and return the recorded work. `outputs` are the storages the captured function
   * returned; any other storage made inside it and still alive is refused (a replay would rewrite
   * it in place).
   */
  endCapture?(outputs: readonly Storage[]): CapturedWork;
  /** Drop the capture under way (the captured function threw). */
  abortCapture?(): void;
  /** What this backend has done since it opened or since `resetCounters()`. */
  counters(): WorkCounters;
  resetCounters(): void;
}

/** A backend's recording of captured work (see `Backend.beginCapture`). */
export interface CapturedWork {
  /** Submit the recorded work again (random keys and refreshed params recomputed first). */
  replay(): void;
  /** Kernel launches and dispatches one replay takes. */
  readonly kernels: number;
  readonly dispatches: number;
  /** Give the graph's memory back to the pool and drop the recording. */
  dispose(): void;
}

/** The work a backend did: what benchmarks count per step or per token, independent of speed. */
export interface WorkCounters {
  /** Kernel launches (`exec`/`execInPlace` calls). */
  kernels: number;
  /** GPU: compute dispatches encoded (a kernel may dispatch several times, or not at all). */
  dispatches: number;
  /** GPU: queue submissions. */
  submits: number;
  /** GPU: compute pipelines created (each is compiled once, then cached). */
  pipelines: number;
  /** GPU: bind groups created. */
  bindGroups: number;
  /** GPU: dispatches that bound a buffer larger than one binding in windows. */
  windowedDispatches: number;
  /** Host-to-device copies and their bytes (GPU; 0 on the CPU). */
  uploads: number;
  uploadBytes: number;
  /** Milliseconds the host spent inside kernel launches: encoding on the GPU, computing on the CPU. */
  hostMs: number;
  /** GPU: of `hostMs`, the milliseconds inside Dawn's (or the browser's) encoding and submitting calls. */
  driverMs: number;
}

/** Zeroed counters. */
export function emptyCounters(): WorkCounters {
  return { kernels: 0, dispatches: 0, submits: 0, pipelines: 0, bindGroups: 0, windowedDispatches: 0, uploads: 0, uploadBytes: 0, hostMs: 0, driverMs: 0 };
}

/** A device's memory, as `memoryStats(device)` reports it. */
export interface MemoryStats {
  /** Bytes held by live tensors. */
  liveBytes: number;
  /** The most `liveBytes` has been since the start (or `resetPeakMemory`). */
  peakBytes: number;
  /** CPU: bytes of the WebAssembly heap handed out so far (freed blocks are reused, never returned). */
  heapBytes?: number;
  /** CPU: what the heap can grow to (4 GiB); 0 without WebAssembly. */
  heapLimitBytes?: number;
  /** CPU: live bytes in plain JS arrays because the heap was full (the slow path). */
  offHeapBytes?: number;
  /** GPU: bytes of freed buffers kept for reuse. */
  pooledBytes?: number;
  /** GPU: bytes of buffers ever created. */
  createdBytes?: number;
  /** GPU: free bytes kept by captured graphs for their replays (`captureGraph`), until disposed. */
  graphBytes?: number;
}
