import { allocArray, itemSize, type DType, type TypedArray } from '../../dtype.ts';
import { contiguousStrides, isContiguous, numel } from '../../shape.ts';
import type { Backend, CpuView, Kernel, OutputSpec, Storage, View } from '../types.ts';
import { RowWalker } from './strided.ts';

export interface CpuStorage extends Storage {
  readonly data: TypedArray;
  /** Set while the values are still being read back from the GPU (`t.to('cpu')`). */
  pending?: Promise<void> | null;
}

/** Bytes of storages not yet freed (explicitly or by the garbage collector). */
let live = 0;
const collected = new FinalizationRegistry<number>((bytes) => { live -= bytes; });

function track(storage: CpuStorage): CpuStorage {
  const bytes = storage.length * itemSize(storage.dtype);
  live += bytes;
  collected.register(storage, bytes, storage);
  return storage;
}

function makeStorage(dtype: DType, data: TypedArray): CpuStorage {
  return track({ device: 'cpu', dtype, length: data.length, refs: 0, freed: false, data });
}

export function cpuView(view: View): CpuView {
  const s = view.storage as CpuStorage;
  if (s.freed) throw new Error('tensor: used after dispose() (its storage was freed)');
  if (s.pending) throw new Error("to('cpu'): this tensor's values are still on their way from the GPU; await t.ready() (or use await t.toAsync('cpu')) before computing with it on the CPU");
  return { data: s.data, shape: view.shape, strides: view.strides, offset: view.offset, dtype: view.dtype };
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
  const storage = makeStorage(dtype, allocArray(dtype, length));
  storage.pending = fill.then((values) => {
    (storage.data as TypedArray).set(values as ArrayLike<number> & TypedArray);
    storage.pending = null;
  });
  storage.pending.catch(() => {});
  return storage;
}

export const cpuBackend: Backend = {
  device: 'cpu',

  alloc(dtype, length) {
    return makeStorage(dtype, allocArray(dtype, length));
  },

  upload(dtype, data) {
    const arr = allocArray(dtype, data.length);
    arr.set(data as ArrayLike<number>);
    return makeStorage(dtype, arr);
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
    (storage as { freed: boolean }).freed = true;
    live -= storage.length * itemSize(storage.dtype);
    collected.unregister(storage);
  },

  exec<A>(kernel: Kernel<A>, inputs: readonly View[], outputs: readonly OutputSpec[], attrs: A): Storage[] {
    const outs = outputs.map((o) => makeStorage(o.dtype, allocArray(o.dtype, numel(o.shape))));
    kernel.cpu(outs.map((s) => s.data), inputs.map(cpuView), attrs, outputs);
    return outs;
  },

  execInPlace<A>(kernel: Kernel<A>, inputs: readonly View[], targets: readonly Storage[], attrs: A): void {
    const arrays = targets.map((t) => {
      if (t.freed) throw new Error(`${kernel.name}: target used after dispose()`);
      return (t as CpuStorage).data;
    });
    kernel.cpu(arrays, inputs.map(cpuView), attrs, targets.map((t) => ({ shape: [t.length], dtype: t.dtype })));
  },

  async sync() {},

  liveBytes() {
    return live;
  },
};
