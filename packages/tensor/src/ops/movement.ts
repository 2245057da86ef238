import { promoteTypes, isFloat } from '../dtype.ts';
import { collapse, fmt, inferShape, normalizeDim, numel, viewStrides, contiguousStrides, isContiguous } from '../shape.ts';
import type { Kernel } from '../backend/types.ts';
import { mapUnary } from '../backend/cpu/elementwise.ts';
import { threadsFor, wasmOperands } from '../backend/cpu/rows.ts';
import type { CpuView } from '../backend/types.ts';
import type { TypedArray } from '../dtype.ts';
import { RowWalker } from '../backend/cpu/strided.ts';
import { record } from '../autograd/tape.ts';
import { Tensor } from '../tensor.ts';
import { disposeIfUnrecorded, runKernel, sameDevice } from './apply.ts';
import { getBackend } from '../backend/registry.ts';
import { elementwise, entry, header, cachedSource } from '../backend/webgpu/codegen.ts';

/** Accept both `x.view(2, 3)` and `x.view([2, 3])`. */
export function shapeArgs(args: number[] | [readonly number[]]): number[] {
  return args.length === 1 && Array.isArray(args[0]) ? [...(args[0] as readonly number[])] : (args as number[]);
}

export const dimIndex = normalizeDim;

/** A view of x's storage with another shape/strides/offset, recorded with `vjp`. */
function makeView(op: string, x: Tensor, shape: readonly number[], strides: readonly number[], offset: number, vjp: (g: Tensor) => Tensor): Tensor {
  x.assertLive(op);
  const out = new Tensor(x.storage, shape, strides, offset, x.dtype);
  return record(out, op, [x], (g) => [vjp(g)]);
}

/**
 * Copy a strided view of 4-byte elements into `out` at (offset, strides) — the contiguous layout
 * by default — with the SIMD kernel when it has at most 4 dims after merging; false otherwise.
 */
function copyWasm(out: TypedArray, x: CpuView, dstOffset = 0, dstStrides: readonly number[] = contiguousStrides(x.shape)): boolean {
  if (x.dtype !== 'float32' && x.dtype !== 'int32') return false;
  const { dims, strideSets } = collapse(x.shape, [x.strides, dstStrides]);
  if (dims.length > 4 || dims.length === 0 || !(out instanceof Float32Array || out instanceof Int32Array)) return false;
  const w = wasmOperands([x], [out instanceof Float32Array ? out : new Float32Array(out.buffer, out.byteOffset, out.length)]);
  if (w === null) return false;
  const d = [1, 1, 1, 1, ...dims].slice(-4);
  const src = [0, 0, 0, 0, ...strideSets[0]!].slice(-4);
  const dst = [0, 0, 0, 0, ...strideSets[1]!].slice(-4);
  w.rt.run('copyStrided4', [w.ins[0]!, w.outs[0]! + dstOffset * 4, ...d, ...src, ...dst], threadsFor(w.rt, numel(x.shape)));
  return true;
}

const copyKernel: Kernel<null> = {
  name: 'copy',
  cpu: (outs, [x]) => {
    if (copyWasm(outs[0]!, x!)) return;
    mapUnary(outs[0]!, x!, (v) => v);
  },
  gpu: (ctx, [x], [out]) => elementwise(ctx, [x!], out!, ([a]) => a!),
};

/** Contiguous copy of any view (no autograd). */
function copyOf(x: Tensor): Tensor {
  return runKernel(copyKernel, [x], [{ shape: x.shape, dtype: x.dtype }], null)[0]!;
}

/** Same memory, new shape; fails when the layout does not allow it (use `reshape`). */
export function view(x: Tensor, shape: readonly number[]): Tensor {
  const to = inferShape('view', x.shape, shape);
  const strides = viewStrides(x.shape, x.strides, to);
  if (strides === null) {
    throw new Error(`view: a tensor of shape ${fmt(x.shape)} with strides ${fmt(x.strides)} cannot be viewed as ${fmt(to)} without a copy; use reshape()`);
  }
  return makeView('view', x, to, strides, x.offset, (g) => g.reshape(x.shape));
}

/** A view when the layout allows, else a contiguous copy. @example x.reshape(B * T, C) */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const to = inferShape('reshape', x.shape, shape);
  if (viewStrides(x.shape, x.strides, to) !== null) return view(x, to);
  // a copy, then a view of it: the copy's own handle is kept only for a backward
  const copy = contiguous(x);
  const out = view(copy, to);
  disposeIfUnrecorded(out, [copy], [x]);
  return out;
}

/** Reorder dims. @example x.permute(0, 2, 1, 3) */
export function permute(x: Tensor, dims: readonly number[]): Tensor {
  if (dims.length !== x.ndim) throw new Error(`permute: expected ${x.ndim} dims for shape ${fmt(x.shape)}, got [${dims.join(',')}]`);
  const order = dims.map((d) => normalizeDim('permute', d, x.ndim));
  if (new Set(order).size !== order.length) throw new Error(`permute: repeated dim in [${dims.join(',')}]`);
  const inverse = new Array<number>(order.length);
  order.forEach((d, i) => { inverse[d] = i; });
  return makeView('permute', x, order.map((d) => x.shape[d]!), order.map((d) => x.strides[d]!), x.offset, (g) => g.permute(inverse));
}

/** Move dim `from` to position `to`, keeping the others in order (a view). */
export function movedim(x: Tensor, from: number, to: number): Tensor {
  const a = normalizeDim('movedim', from, x.ndim), b = normalizeDim('movedim', to, x.ndim);
  const order = [...Array(x.ndim).keys()].filter((d) => d !== a);
  order.splice(b, 0, a);
  return permute(x, order);
}

/** Swap two dims. @example k.transpose(-2, -1) */
export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  if (x.ndim < 2 && dim0 === dim1) return x;
  const a = normalizeDim('transpose', dim0, x.ndim), b = normalizeDim('transpose', dim1, x.ndim);
  const order = [...Array(x.ndim).keys()];
  order[a] = b;
  order[b] = a;
  return permute(x, order);
}

/** Broadcast to a larger shape without copying (-1 keeps a dim). @example bias.expand(B, T, C) */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  const lead = shape.length - x.ndim;
  if (lead < 0) throw new Error(`expand: cannot expand shape ${fmt(x.shape)} to fewer dims ${fmt(shape)}`);
  const to = shape.map((d, i) => (d === -1 && i >= lead ? x.shape[i - lead]! : d));
  const strides = to.map((d, i) => {
    if (i < lead) {
      if (d < 0) throw new Error(`expand: -1 is not allowed for a new leading dim in ${fmt(shape)}`);
      return 0;
    }
    const s = x.shape[i - lead]!;
    if (s === d) return x.strides[i - lead]!;
    if (s === 1) return 0;
    throw new Error(`expand: shape ${fmt(x.shape)} cannot be expanded to ${fmt(shape)} (dim ${i}: ${s} vs ${d})`);
  });
  if (to.every((d, i) => d === x.shape[i]) && lead === 0) return x;
  return makeView('expand', x, to, strides, x.offset, (g) => g);
}

/** Contiguous layout: `x` itself when already contiguous, else a copy that stays in the graph. */
export function contiguous(x: Tensor): Tensor {
  x.assertLive('contiguous');
  if (isContiguous(x.shape, x.strides)) return x;
  return clone(x);
}

/** A contiguous copy, differentiable. */
export function clone(x: Tensor): Tensor {
  x.assertLive('clone');
  return record(copyOf(x), 'clone', [x], (g) => [g]);
}

interface Placement {
  offset: number;
  strides: number[];
}

/** Zero-filled output of `shape` with each input copied in at its placement (cat, slice grads). */
const placeKernel: Kernel<{ placements: Placement[]; keep?: boolean }> = {
  name: 'place',
  cpu: (outs, inputs, { placements, keep }) => {
    const out = outs[0]!;
    // outputs are not zeroed for us: only where the inputs do not cover everything (slice grads),
    // unless the output is written in place (`keep`: copy_ into a view)
    if (keep !== true && inputs.reduce((n, x) => n + numel(x.shape), 0) < out.length) out.fill(0);
    inputs.forEach((x, k) => {
      const p = placements[k]!;
      if (copyWasm(out, x, p.offset, p.strides)) return;
      const it = new RowWalker(x.shape, [p.strides, x.strides], [p.offset, x.offset]);
      const so = it.steps[0]!, sx = it.steps[1]!, xd = x.data;
      for (let r = 0; r < it.rows; r++, it.advance()) {
        let o = it.offsets[0]!, i = it.offsets[1]!;
        for (let j = 0; j < it.inner; j++, o += so, i += sx) out[o] = xd[i]!;
      }
    });
  },
  gpu: (ctx, inputs, [out], { placements, keep }) => {
    const covered = inputs.reduce((n, x) => n + numel(x.shape), 0);
    if (keep !== true && covered < numel(out!.shape)) ctx.clearOutput(0);
    inputs.forEach((x, k) => {
      const n = numel(x.shape);
      if (n === 0) return;
      const p = placements[k]!;
      const rank = x.shape.length;
      const params = [n, rank, ...x.shape, x.offset, ...x.strides, p.offset, ...p.strides];
      const srcAt = 2 + rank, dstAt = srcAt + 1 + rank;
      const code = cachedSource(`place:${x.dtype}:${out!.dtype}:${rank}`, () => `${header([{ name: 'src', dtype: x.dtype }, { name: 'out', dtype: out!.dtype, write: true }])}
${entry(`  if (i >= P[0]) { return; }
  out[strided(i, 2u, P[1], ${dstAt}u)] = src[strided(i, 2u, P[1], ${srcAt}u)];`)}`);
      ctx.dispatch({ code, bindings: [{ input: k }, { output: 0 }], params, workgroups: { threads: n, size: 256 } });
    });
  },
};

/**
 * Write `src`'s values into `dst` in place (PyTorch's `dst.copy_(src)`): `src` may be on another
 * device, of another dtype (cast) and of a shape that broadcasts to `dst`'s; `dst` may be a view
 * (only its elements change). No gradient is recorded.
 */
export function copyInto(dst: Tensor, src: Tensor): void {
  dst.assertLive('copy_');
  src.assertLive('copy_');
  const made: Tensor[] = [];
  const step = (t: Tensor): Tensor => {
    if (t !== src) made.push(t);
    return t;
  };
  try {
    let s = src;
    if (s.device !== dst.device) s = step(s.to(dst.device));
    if (s.dtype !== dst.dtype) s = step(s.to(dst.dtype));
    if (s.storage === dst.storage) s = step(clone(s)); // overlapping reads and writes: read a copy
    let expanded: Tensor;
    try {
      expanded = expand(s, dst.shape); // `s` itself when the shapes are equal
    } catch {
      throw new Error(`copy_: a source of shape ${fmt(s.shape)} does not broadcast to the destination's ${fmt(dst.shape)}`);
    }
    if (expanded !== s) s = step(expanded);
    getBackend(dst.device).execInPlace(placeKernel, [s], [dst.storage], { placements: [{ offset: dst.offset, strides: [...dst.strides] }], keep: true });
  } finally {
    for (const t of made) t.dispose();
  }
}

/** Python-style slice of one dim: negative indices count from the end; bounds are clamped. */
export function slice(x: Tensor, dim: number, start?: number | null, end?: number | null, step = 1): Tensor {
  const d = normalizeDim('slice', dim, x.ndim);
  if (!Number.isInteger(step) || step <= 0) throw new Error(`slice: step must be a positive integer, got ${step}`);
  const n = x.shape[d]!;
  const clampIndex = (i: number) => Math.min(Math.max(i < 0 ? i + n : i, 0), n);
  const lo = start === undefined || start === null ? 0 : clampIndex(start);
  const hi = end === undefined || end === null ? n : clampIndex(end);
  const len = Math.max(0, Math.ceil((hi - lo) / step));
  const shape = x.shape.map((s, i) => (i === d ? len : s));
  const strides = x.strides.map((s, i) => (i === d ? s * step : s));
  const full = contiguousStrides(x.shape);
  const placement: Placement = { offset: lo * full[d]!, strides: full.map((s, i) => (i === d ? s * step : s)) };
  return makeView('slice', x, shape, strides, x.offset + lo * x.strides[d]!, (g) =>
    runKernel(placeKernel, [g], [{ shape: x.shape, dtype: g.dtype }], { placements: [placement] })[0]!);
}

/** `length` elements of `dim` from `start` (negative start counts from the end). */
export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  const d = normalizeDim('narrow', dim, x.ndim);
  const n = x.shape[d]!;
  const s = start < 0 ? start + n : start;
  if (!Number.isInteger(s) || !Number.isInteger(length) || s < 0 || length < 0 || s + length > n) {
    throw new Error(`narrow: start ${start} and length ${length} are out of range for dim ${dim} of size ${n} (shape ${fmt(x.shape)})`);
  }
  return slice(x, d, s, s + length);
}

/** Index one position along `dim`, removing that dim. @example logits.select(1, -1) */
export function select(x: Tensor, dim: number, index: number): Tensor {
  const d = normalizeDim('select', dim, x.ndim);
  const n = x.shape[d]!;
  const i = index < 0 ? index + n : index;
  if (!Number.isInteger(i) || i < 0 || i >= n) {
    throw new Error(`select: index ${index} is out of range for dim ${dim} of size ${n} (shape ${fmt(x.shape)})`);
  }
  return squeeze(slice(x, d, i, i + 1), d);
}

/** Drop size-1 dims (all, or those given; a given dim that is not 1 is left alone, as in PyTorch). */
export function squeeze(x: Tensor, dim?: number | readonly number[]): Tensor {
  const dims = dim === undefined ? x.shape.map((_, i) => i) : (typeof dim === 'number' ? [dim] : [...dim]).map((d) => normalizeDim('squeeze', d, x.ndim));
  const shape = x.shape.filter((s, i) => !(s === 1 && dims.includes(i)));
  return shape.length === x.ndim ? x : view(x, shape);
}

/** Insert a size-1 dim at `dim` (negative counts from the end of the result). */
export function unsqueeze(x: Tensor, dim: number): Tensor {
  const d = normalizeDim('unsqueeze', dim, x.ndim + 1);
  const shape = [...x.shape];
  shape.splice(d, 0, 1);
  return view(x, shape);
}

/** Merge dims startDim..endDim into one (a copy only when the layout needs it). */
export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  if (x.ndim === 0) return reshape(x, [1]);
  const a = normalizeDim('flatten', startDim, x.ndim), b = normalizeDim('flatten', endDim, x.ndim);
  if (a > b) throw new Error(`flatten: startDim ${startDim} comes after endDim ${endDim}`);
  const shape = [...x.shape.slice(0, a), numel(x.shape.slice(a, b + 1)), ...x.shape.slice(b + 1)];
  return reshape(x, shape);
}

/**
 * Concatenate along an existing dim (shapes must match elsewhere; dtypes are promoted).
 * @example cat([a, b], 1)
 */
export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new Error('cat: expected a non-empty list of tensors');
  sameDevice('cat', tensors);
  const parts = tensors.filter((t) => !(t.ndim === 1 && t.shape[0] === 0));
  if (parts.length === 0) return tensors[0]!;
  const ref = parts[0]!;
  const d = normalizeDim('cat', dim, ref.ndim);
  for (const t of parts) {
    if (t.ndim !== ref.ndim || t.shape.some((s, i) => i !== d && s !== ref.shape[i])) {
      throw new Error(`cat: shapes ${parts.map((p) => fmt(p.shape)).join(', ')} must match except in dim ${dim}`);
    }
  }
  const dtype = parts.map((t) => t.dtype).reduce(promoteTypes);
  const inputs = parts.map((t) => (t.dtype === dtype ? t : t.to(dtype)));
  const shape = ref.shape.map((s, i) => (i === d ? inputs.reduce((a, t) => a + t.shape[d]!, 0) : s));
  const strides = contiguousStrides(shape);
  const starts: number[] = [];
  let at = 0;
  for (const t of inputs) { starts.push(at); at += t.shape[d]!; }
  const placements = starts.map((s) => ({ offset: s * strides[d]!, strides }));
  const [out] = runKernel(placeKernel, inputs, [{ shape, dtype }], { placements });
  if (!isFloat(dtype)) return out!;
  return record(out!, 'cat', inputs, (g, needs) => inputs.map((t, i) => (needs[i] ? narrow(g, d, starts[i]!, t.shape[d]!) : null)));
}

/** Join tensors of one shape along a new dim. @example stack([x, y], 0) */
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new Error('stack: expected a non-empty list of tensors');
  const ref = tensors[0]!;
  for (const t of tensors) {
    if (t.ndim !== ref.ndim || t.shape.some((s, i) => s !== ref.shape[i])) {
      throw new Error(`stack: all tensors must have the same shape, got ${tensors.map((p) => fmt(p.shape)).join(', ')}`);
    }
  }
  const d = normalizeDim('stack', dim, ref.ndim + 1);
  return cat(tensors.map((t) => unsqueeze(t, d)), d);
}

/** Split into pieces of `splitSize` (the last may be smaller) or of the listed sizes. */
export function split(x: Tensor, splitSize: number | readonly number[], dim = 0): Tensor[] {
  const d = normalizeDim('split', dim, x.ndim);
  const n = x.shape[d]!;
  let sizes: number[];
  if (typeof splitSize === 'number') {
    if (!Number.isInteger(splitSize) || splitSize <= 0) throw new Error(`split: splitSize must be a positive integer, got ${splitSize}`);
    sizes = [];
    for (let s = 0; s < n; s += splitSize) sizes.push(Math.min(splitSize, n - s));
  } else {
    sizes = [...splitSize];
    const total = sizes.reduce((a, b) => a + b, 0);
    if (total !== n) throw new Error(`split: sizes [${sizes.join(',')}] sum to ${total}, but dim ${dim} has size ${n}`);
  }
  const out: Tensor[] = [];
  let at = 0;
  for (const s of sizes) { out.push(narrow(x, d, at, s)); at += s; }
  return out;
}

/** Split into `chunks` nearly equal pieces (PyTorch's sizing: ceil(n / chunks) each). */
export function chunk(x: Tensor, chunks: number, dim = 0): Tensor[] {
  if (!Number.isInteger(chunks) || chunks <= 0) throw new Error(`chunk: chunks must be a positive integer, got ${chunks}`);
  const n = x.shape[normalizeDim('chunk', dim, x.ndim)]!;
  return split(x, Math.max(1, Math.ceil(n / chunks)), dim);
}
