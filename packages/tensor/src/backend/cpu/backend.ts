import { allocArray, itemSize, type DType, type TypedArray } from '../../dtype.ts';
import { refuseInCapture } from '../capture.ts';
import { contiguousStrides, isContiguous, numel } from '../../shape.ts';
import { emptyCounters, type Backend, type CpuView, type Kernel, type OutputSpec, type Storage, type View } from '../types.ts';
import { HEAP_LIMIT, wasmRuntime } from './wasm.ts';
import { noticeOnce } from '../../env/env.ts';
import { CollectionTrigger, collectGarbage, registerStorage, unregisterStorage } from '../collector.ts';
import { RowWalker } from './strided.ts';

export interface CpuStorage extends Storage {
  readonly data: TypedArray;
  /** Byte address of data[0] in the WebAssembly heap, or -1 for a plain JS array. */
  readonly ptr: number;
  readonly bytes: number;
  /** Set while the values are still being read back from the GPU (`t.to('cpu')`). */
  pending?: Promise<void> | null;
}

/** Bytes of storages not yet freed (explicitly or by the garbage collector). */
let live = 0;
let peak = 0;
/** Bytes of live storages that did not fit the WebAssembly heap (plain JS arrays: the slow path). */
let offHeap = 0;
let counters = emptyCounters();
const trigger = new CollectionTrigger('cpu', () => live);

/** What frees a storage's memory once the storage object is unreachable (it must not capture the storage). */
function releaser(bytes: number, ptr: number): () => void {
  return () => {
    live -= bytes;
    if (ptr >= 0) wasmRuntime()!.heap.release(ptr, bytes);
    else offHeap -= bytes;
  };
}

const VIEW: Record<DType, new (buffer: ArrayBufferLike, offset: number, length: number) => TypedArray> = {
  float32: Float32Array, float16: Float32Array, float64: Float64Array, int32: Int32Array, bool: Uint8Array,
};

/**
 * A tensor that does not fit the WebAssembly heap lives in a plain JS array, where the SIMD
 * kernels and threads cannot reach it: correct but many times slower. Say so once.
 */
function offHeapAlloc(bytes: number): void {
  offHeap += bytes;
  noticeOnce('cpu-off-heap', `the CPU backend's WebAssembly heap (4 GiB) is full: ${(live / 2 ** 30).toFixed(2)} GiB live, so new tensors go to plain JS arrays, which are many times slower. Free tensors (tidy, dispose) or use smaller batches`);
}

/** A heap block, collecting forgotten tensors first when the heap is full. */
function heapAlloc(rt: NonNullable<ReturnType<typeof wasmRuntime>>, bytes: number): number {
  const ptr = rt.heap.alloc(bytes);
  if (ptr >= 0 || !collectGarbage()) return ptr;
  return rt.heap.alloc(bytes);
}

/**
 * A storage for `length` elements: in the WebAssembly heap when there is room (so SIMD kernels and
 * worker threads use it in place), else a plain JS array. Heap memory is reused, so it is zeroed
 * only when asked.
 */
function makeStorage(dtype: DType, length: number, zero: boolean): CpuStorage {
  const bytes = length * itemSize(dtype === 'float16' ? 'float32' : dtype);
  const rt = wasmRuntime();
  trigger.check(bytes);
  let data: TypedArray;
  let ptr = -1;
  if (rt !== null && length > 0 && (ptr = heapAlloc(rt, bytes)) >= 0) {
    data = new VIEW[dtype](rt.memory.buffer, ptr, length);
    if (zero) data.fill(0);
  } else {
    data = allocArray(dtype, length);
    if (rt !== null && length > 0) offHeapAlloc(bytes);
  }
  const storage: CpuStorage = { device: 'cpu', dtype, length, refs: 0, freed: false, data, ptr, bytes };
  live += bytes;
  if (live > peak) peak = live;
  registerStorage(storage, releaser(bytes, ptr), storage);
  return storage;
}

export function cpuView(view: View): CpuView {
  const s = view.storage as CpuStorage;
  if (s.freed) throw new Error('tensor: used after dispose() (its storage was freed)');
  if (s.pending) throw new Error("to('cpu'): this tensor's values are still on their way from the GPU; await t.ready() (or use await t.toAsync('cpu')) before reading it synchronously");
  return { data: s.data, shape: view.shape, strides: view.strides, offset: view.offset, dtype: view.dtype, ptr: s.ptr };
}

/** The values still arriving for any of these storages (GPU readbacks, or kernels waiting on them). */
function pendingOf(storages: readonly Storage[]): Promise<void>[] {
  const waits: Promise<void>[] = [];
  for (const s of storages) {
    const p = (s as CpuStorage).pending;
    if (p) waits.push(p);
  }
  return waits;
}

/**
 * Run `work` once `waits` settle, keeping `inputs` (the storages it reads and writes) alive until
 * then; `targets` are pending until it has run. This is how CPU ops on a tensor just moved from the GPU wait for its values instead of
 * failing: the op returns at once and its result is pending in turn.
 */
function defer(waits: Promise<void>[], inputs: readonly Storage[], targets: readonly CpuStorage[], work: () => void): void {
  for (const s of inputs) s.refs++;
  const done = Promise.all(waits).then(work).finally(() => {
    for (const s of inputs) if (--s.refs <= 0) cpuBackend.free(s);
    for (const t of targets) if (t.pending === done) t.pending = null;
  });
  done.catch(() => {}); // the error surfaces where the values are read
  for (const t of targets) t.pending = done;
}

/** Contiguous copy of a strided view into a fresh array of the same dtype. */
export function gatherContiguous(v: CpuView): TypedArray {
  const n = numel(v.shape);
  if (isContiguous(v.shape, v.strides) && v.offset === 0 && v.data.length === n) return v.data;
  if (isContiguous(v.shape, v.strides)) return v.data.subarray(v.offset, v.offset + n);
  const out = allocArray(v.dtype, n);
  const it = new RowWalker(v.shape, [contiguousStrides(v.shape), v.strides], [0, v.offset]);
  const src = v.data;
  const so = it.steps[0]!, si = it.steps[1]!;
  for (let r = 0; r < it.rows; r++, it.advance()) {
    let o = it.offsets[0]!, i = it.offsets[1]!;
    for (let j = 0; j < it.inner; j++, o += so, i += si) out[o] = src[i]!;
  }
  return out;
}

/**
 * A CPU storage filled later by `fill` (a GPU readback); until then reads wait and kernels refuse it.
 */
export function pendingStorage(dtype: DType, length: number, fill: Promise<TypedArray>): CpuStorage {
  const storage = makeStorage(dtype, length, true);
  storage.pending = fill.then((values) => {
    // a tensor disposed before its values arrived may have handed its heap block to another one
    if (!storage.freed) (storage.data as TypedArray).set(values as ArrayLike<number> & TypedArray);
    storage.pending = null;
  });
  storage.pending.catch(() => {});
  return storage;
}

export const cpuBackend: Backend = {
  device: 'cpu',

  alloc(dtype, length) {
    return makeStorage(dtype, length, true);
  },

  upload(dtype, data) {
    const s = makeStorage(dtype, data.length, false);
    s.data.set(data as ArrayLike<number>);
    return s;
  },

  async read(view) {
    const pending = (view.storage as CpuStorage).pending;
    if (pending) await pending;
    return this.readSync!(view);
  },

  readSync(view) {
    return gatherContiguous(cpuView(view)).slice();
  },

  free(storage) {
    if (storage.freed) return;
    const s = storage as CpuStorage;
    s.freed = true;
    live -= s.bytes;
    unregisterStorage(s);
    if (s.ptr >= 0) wasmRuntime()!.heap.release(s.ptr, s.bytes);
    else if (wasmRuntime() !== null) offHeap -= s.bytes;
  },

  exec<A>(kernel: Kernel<A>, inputs: readonly View[], outputs: readonly OutputSpec[], attrs: A): Storage[] {
    refuseInCapture(`the CPU kernel ${kernel.name}`);
    const t0 = performance.now();
    counters.kernels++;
    const outs = outputs.map((o) => makeStorage(o.dtype, numel(o.shape), kernel.zeroInit === true));
    const run = () => kernel.cpu(outs.map((s) => s.data), inputs.map(cpuView), attrs, outputs);
    const waits = pendingOf(inputs.map((v) => v.storage));
    if (waits.length === 0) run();
    else defer(waits, [...inputs.map((v) => v.storage), ...outs], outs, run);
    counters.hostMs += performance.now() - t0;
    return outs;
  },

  execInPlace<A>(kernel: Kernel<A>, inputs: readonly View[], targets: readonly Storage[], attrs: A): void {
    for (const t of targets) if (t.freed) throw new Error(`${kernel.name}: target used after dispose()`);
    refuseInCapture(`the CPU kernel ${kernel.name}`);
    const t0 = performance.now();
    counters.kernels++;
    const run = () => kernel.cpu(targets.map((t) => (t as CpuStorage).data), inputs.map(cpuView), attrs, targets.map((t) => ({ shape: [t.length], dtype: t.dtype })));
    const waits = pendingOf([...inputs.map((v) => v.storage), ...targets]);
    if (waits.length === 0) run();
    else defer(waits, [...inputs.map((v) => v.storage), ...targets], targets as CpuStorage[], run);
    counters.hostMs += performance.now() - t0;
  },

  async sync() {},

  liveBytes() {
    return live;
  },

  storageBytes(storage) {
    return (storage as CpuStorage).bytes;
  },

  memoryStats() {
    const rt = wasmRuntime();
    return { liveBytes: live, peakBytes: peak, heapBytes: rt?.heap.committedBytes ?? 0, heapLimitBytes: rt === null ? 0 : HEAP_LIMIT, offHeapBytes: offHeap };
  },

  resetPeak() {
    peak = live;
  },

  counters() {
    return { ...counters };
  },

  resetCounters() {
    counters = emptyCounters();
  },
};
