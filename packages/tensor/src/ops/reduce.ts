import type { DType } from '../dtype.ts';
import { isFloat } from '../dtype.ts';
import { fmt, normalizeDim, normalizeDims, numel } from '../shape.ts';
import type { CpuView, Kernel } from '../backend/types.ts';
import type { TypedArray } from '../dtype.ts';
import { isContiguous } from '../shape.ts';
import { threadsFor, wasmOperands } from '../backend/cpu/rows.ts';
import { argReduceInto, reduceInto, type ReduceKind } from '../backend/cpu/reduce.ts';
import { record } from '../autograd/tape.ts';
import type { Tensor } from '../tensor.ts';
import { disposeIfUnrecorded, runKernel } from './apply.ts';
import { reduceGpu } from '../backend/webgpu/reduce.ts';
import { where } from './binary.ts';

export interface ReduceAttrs {
  dims: number[];
}

export interface ReduceDef {
  kind: ReduceKind;
  /** WGSL: identity element and the combine expression over `acc` and `v`. */
  wgsl: { init: string; combine: (acc: string, v: string) => string };
  /** `g` and the result `y()` in kept-dims shape (`y` is only viewed so when a rule reads it). */
  vjp: (g: Tensor, x: Tensor, y: () => Tensor, dims: number[]) => Tensor;
}

/** Spread a keepdim-shaped gradient of max/min over the positions that hold the extreme. */
function extremeVjp(g: Tensor, x: Tensor, y: () => Tensor, dims: number[]): Tensor {
  const hit = x.eq(y());
  const count = hit.sum(dims, true);
  return where(hit, g.div(count), 0);
}

export const reduceDefs = {
  sum: { kind: 'sum', wgsl: { init: '0.0', combine: (a, v) => `${a} + ${v}` }, vjp: (g, x) => g.expand(x.shape) },
  max: { kind: 'max', wgsl: { init: '-3.4028234663852886e38', combine: (a, v) => `max(${a}, ${v})` }, vjp: extremeVjp },
  min: { kind: 'min', wgsl: { init: '3.4028234663852886e38', combine: (a, v) => `min(${a}, ${v})` }, vjp: extremeVjp },
} satisfies Record<string, ReduceDef>;

export type ReduceOp = keyof typeof reduceDefs;

/**
 * float32 sums over a block of adjacent dims of a contiguous tensor in the heap run the SIMD
 * kernel (x seen as [outer, R, inner]); false when the pattern does not fit.
 */
function sumWasm(out: TypedArray, x: CpuView, dims: readonly number[]): boolean {
  if (x.dtype !== 'float32' || dims.length === 0 || !isContiguous(x.shape, x.strides)) return false;
  for (let i = 1; i < dims.length; i++) if (dims[i] !== dims[i - 1]! + 1) return false;
  const w = wasmOperands([x], [out]);
  if (w === null) return false;
  const first = dims[0]!, last = dims[dims.length - 1]!;
  const outer = numel(x.shape.slice(0, first)), R = numel(x.shape.slice(first, last + 1)), inner = numel(x.shape.slice(last + 1));
  w.rt.run('sumF32', [w.ins[0]!, w.outs[0]!, outer, R, inner], threadsFor(w.rt, outer * R * inner));
  return true;
}

const reduceKernel = (kind: ReduceKind): Kernel<ReduceAttrs> => ({
  name: `reduce.${kind}`,
  cpu: (outs, [x], a) => {
    if (kind === 'sum' && sumWasm(outs[0]!, x!, a.dims)) return;
    reduceInto(outs[0]!, x!, a.dims, kind);
  },
  gpu: (ctx, [x], [out], a) => reduceGpu(ctx, x!, a.dims, out!, kind),
});

const kernels: Record<ReduceOp, Kernel<ReduceAttrs>> = { sum: reduceKernel('sum'), max: reduceKernel('max'), min: reduceKernel('min') };

/** The dims a reduction covers: `undefined` or `[]` mean all (as in PyTorch); none for a 0-d tensor. */
export function reduceDims(op: string, dim: number | readonly number[] | undefined, ndim: number): number[] {
  if (ndim === 0) {
    normalizeDims(op, dim, 0);
    return [];
  }
  if (dim === undefined || (Array.isArray(dim) && dim.length === 0)) return [...Array(ndim).keys()];
  return normalizeDims(op, dim, ndim);
}

/** Apply a reduction primitive over `dim` (one, several, or all when undefined). */
export function reduce(op: ReduceOp, x: Tensor, dim: number | readonly number[] | undefined, keepdim: boolean): Tensor {
  x.assertLive(op);
  const dims = reduceDims(op, dim, x.ndim);
  if (op !== 'sum' && dims.some((d) => x.shape[d] === 0)) {
    throw new Error(`${op}: cannot reduce over an empty dim (shape ${fmt(x.shape)}, dims [${dims.join(',')}])`);
  }
  let dtype: DType = x.dtype;
  if (op === 'sum' && dtype === 'bool') dtype = 'int32';
  const src = x.dtype === dtype ? x : x.to(dtype);
  const keepShape = x.shape.map((d, i) => (dims.includes(i) ? 1 : d));
  // written in its final shape (the same elements in the same order as with kept dims): one handle
  // on the memory, so disposing the result frees it; the gradient rules view it with kept dims
  const [y] = runKernel(kernels[op], [src], [{ shape: keepdim ? keepShape : x.shape.filter((_, i) => !dims.includes(i)), dtype }], { dims });
  const vjp = reduceDefs[op].vjp;
  const out = isFloat(dtype) ? record(y!, op, [src], (g) => [vjp(g.reshape(keepShape), src, () => y!.reshape(keepShape), dims)]) : y!;
  disposeIfUnrecorded(out, [src], [x]); // a bool input's int32 copy
  return out;
}

/** Sum over `dim` (a dim, a list, or all). @example x.sum(-1, true) */
export const sum = (x: Tensor, dim?: number | readonly number[], keepdim = false) => reduce('sum', x, dim, keepdim);
/**
 * Largest values over `dim` (one, several, or all), values only; tied maxima share the gradient.
 * @example amax(x, -1, true)
 */
export const amax = (x: Tensor, dim?: number | readonly number[], keepdim = false) => reduce('max', x, dim, keepdim);
/** Smallest values over `dim` (one, several, or all), values only. @example amin(x, [0, 1]) */
export const amin = (x: Tensor, dim?: number | readonly number[], keepdim = false) => reduce('min', x, dim, keepdim);

/** The result of `max(x, dim)` / `min(x, dim)`: the extreme values and their (int32) indices. */
export interface ValuesAndIndices {
  values: Tensor;
  indices: Tensor;
}

function extremeAlong(kind: 'max' | 'min', x: Tensor, dim: number, keepdim: boolean): ValuesAndIndices {
  const indices = argReduce(kind, x, dim, true);
  const d = x.ndim === 0 ? 0 : normalizeDim(kind, dim, x.ndim);
  // the gradient goes to the chosen index only, as in PyTorch
  const values = x.ndim === 0 ? x.clone() : x.gather(d, indices);
  if (keepdim || x.ndim === 0) return { values, indices };
  const squeezedValues = values.squeeze(d);
  const squeezedIndices = indices.squeeze(d);
  values.dispose();
  indices.dispose();
  return { values: squeezedValues, indices: squeezedIndices };
}

/**
 * The largest element (`max(x)`), or the largest values along `dim` with their indices, as
 * PyTorch's `torch.max(x, dim)`. For several dims at once, values only, see `amax`.
 * @example const { values, indices } = max(logits, -1);
 */
export function max(x: Tensor): Tensor;
export function max(x: Tensor, dim: number, keepdim?: boolean): ValuesAndIndices;
export function max(x: Tensor, dim?: number, keepdim = false): Tensor | ValuesAndIndices {
  if (dim === undefined) return reduce('max', x, undefined, false);
  return extremeAlong('max', x, dim, keepdim);
}

/**
 * The smallest element (`min(x)`), or the smallest values along `dim` with their indices.
 * @example const { values, indices } = min(distances, 1);
 */
export function min(x: Tensor): Tensor;
export function min(x: Tensor, dim: number, keepdim?: boolean): ValuesAndIndices;
export function min(x: Tensor, dim?: number, keepdim = false): Tensor | ValuesAndIndices {
  if (dim === undefined) return reduce('min', x, undefined, false);
  return extremeAlong('min', x, dim, keepdim);
}

/** Mean over `dim`; integers are averaged as float32. */
export function mean(x: Tensor, dim?: number | readonly number[], keepdim = false): Tensor {
  const count = numel(reduceDims('mean', dim, x.ndim).map((d) => x.shape[d]!));
  const xf = isFloat(x.dtype) ? x : x.to('float32');
  const total = sum(xf, dim, keepdim);
  const y = total.div(count);
  disposeIfUnrecorded(y, [total, xf], [x]);
  return y;
}

/** Variance over `dim` with `correction` (1 = unbiased, PyTorch's default; 0 = biased). */
export function variance(x: Tensor, dim?: number | readonly number[], options: { correction?: number; keepdim?: boolean } = {}): Tensor {
  const { correction = 1, keepdim = false } = options;
  const dims = reduceDims('var', dim, x.ndim);
  const count = numel(dims.map((d) => x.shape[d]!));
  const xf = isFloat(x.dtype) ? x : x.to('float32');
  const centered = xf.sub(mean(xf, dims, true));
  return centered.mul(centered).sum(dims, keepdim).div(Math.max(count - correction, 0));
}

const argKernels: Record<'max' | 'min', Kernel<ReduceAttrs>> = {
  max: {
    name: 'reduce.argmax',
    cpu: (outs, [x], a) => argReduceInto(outs[0]!, x!, a.dims[0]!, true),
    gpu: (ctx, [x], [out], a) => reduceGpu(ctx, x!, a.dims, out!, 'argmax'),
  },
  min: {
    name: 'reduce.argmin',
    cpu: (outs, [x], a) => argReduceInto(outs[0]!, x!, a.dims[0]!, false),
    gpu: (ctx, [x], [out], a) => reduceGpu(ctx, x!, a.dims, out!, 'argmin'),
  },
};

function argReduce(kind: 'max' | 'min', x: Tensor, dim: number | undefined, keepdim: boolean): Tensor {
  const op = `arg${kind}`;
  x.assertLive(op);
  if (dim === undefined) {
    if (x.numel() === 0) throw new Error(`${op}: cannot reduce an empty tensor`);
    const flat = argReduce(kind, x.reshape([-1]), 0, false);
    return keepdim ? flat.reshape(x.shape.map(() => 1)) : flat;
  }
  if (x.ndim === 0) return argReduce(kind, x.reshape([1]), 0, keepdim).reshape([]);
  const d = normalizeDim(op, dim, x.ndim);
  if (x.shape[d] === 0) throw new Error(`${op}: cannot reduce over an empty dim (shape ${fmt(x.shape)}, dim ${dim})`);
  const keepShape = x.shape.map((s, i) => (i === d ? 1 : s));
  const [y] = runKernel(argKernels[kind], [x], [{ shape: keepShape, dtype: 'int32' }], { dims: [d] });
  return keepdim ? y! : y!.reshape(x.shape.filter((_, i) => i !== d));
}

/** Index (int32) of the largest value over `dim`, or over the flattened tensor. */
export const argmax = (x: Tensor, dim?: number, keepdim = false) => argReduce('max', x, dim, keepdim);
/** Index (int32) of the smallest value over `dim`, or over the flattened tensor. @example argmin(d, 1) */
export const argmin = (x: Tensor, dim?: number, keepdim = false) => argReduce('min', x, dim, keepdim);
