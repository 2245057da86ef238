import { checkedScalar, isFloat } from '../dtype.ts';
import { contiguousStrides, fmt, normalizeDim } from '../shape.ts';
import type { CpuView, Kernel } from '../backend/types.ts';
import { RowWalker } from '../backend/cpu/strided.ts';
import { record } from '../autograd/tape.ts';
import type { Tensor, TensorLike } from '../tensor.ts';
import { runKernel, sameDevice, scalarTensor } from './apply.ts';
import { where } from './binary.ts';
import { mapUnary } from '../backend/cpu/elementwise.ts';
import { zeros } from './create.ts';
import { numel } from '../shape.ts';
import { atomicAddF32, cachedSource, elementwise, entry, errorBinding, header, wordAsInt32 } from '../backend/webgpu/codegen.ts';

interface IndexAttrs {
  dim: number;
  /** Size of `dim` in the indexed tensor (for bounds checks). */
  size: number;
  op: string;
}

function outOfBounds(op: string, idx: number, dim: number, size: number): Error {
  return new Error(`${op}: index ${idx} is out of bounds for dim ${dim} with size ${size}`);
}

/**
 * Visit every position of `index` (with `other` walked alongside, same shape): fn(position in
 * contiguous order, index value, offset into `target` without the indexed dim, offset into `other`).
 */
function walkIndex(index: CpuView, target: CpuView, dim: number, other: CpuView | null, visit: (pos: number, idx: number, base: number, at: number) => void): void {
  const targetStrides = target.strides.map((s, i) => (i === dim ? 0 : s));
  const otherStrides = other?.strides ?? index.shape.map(() => 0);
  const it = new RowWalker(index.shape, [contiguousStrides(index.shape), index.strides, targetStrides, otherStrides], [0, index.offset, target.offset, other?.offset ?? 0]);
  const [sp, si, st, so] = it.steps as [number, number, number, number];
  const id = index.data;
  for (let r = 0; r < it.rows; r++, it.advance()) {
    let p = it.offsets[0]!, i = it.offsets[1]!, t = it.offsets[2]!, o = it.offsets[3]!;
    for (let j = 0; j < it.inner; j++, p += sp, i += si, t += st, o += so) visit(p, id[i]!, t, o);
  }
}

/**
 * The row pattern of embeddings: dim 0 of a 2-D contiguous table indexed by a 1-D index spread over
 * the columns (stride 0). Returns the row length, or 0 when the pattern does not hold.
 */
function rowPattern(x: CpuView, index: CpuView, dim: number): number {
  if (dim !== 0 || x.shape.length !== 2 || index.shape.length !== 2 || index.strides[1] !== 0) return 0;
  if (x.strides[1] !== 1 || x.strides[0] !== x.shape[1] || index.shape[1] !== x.shape[1]) return 0;
  return x.shape[1]!;
}

function checkRows(index: CpuView, size: number, op: string): void {
  const id = index.data, step = index.strides[0]!;
  for (let r = 0, i = index.offset; r < index.shape[0]!; r++, i += step) {
    const v = id[i]!;
    if (v < 0 || v >= size) throw outOfBounds(op, v, 0, size);
  }
}

/** out[pos] = x[... index[pos] at dim ...] */
const gatherKernel: Kernel<IndexAttrs> = {
  name: 'gather',
  cpu: (outs, [x, index], { dim, size, op }) => {
    const out = outs[0]!, xd = x!.data, step = x!.strides[dim]!;
    const C = rowPattern(x!, index!, dim);
    if (C > 0) {
      checkRows(index!, size, op);
      const id = index!.data, istep = index!.strides[0]!;
      for (let r = 0, i = index!.offset; r < index!.shape[0]!; r++, i += istep) {
        const from = x!.offset + id[i]! * C;
        out.set(xd.subarray(from, from + C), r * C);
      }
      return;
    }
    walkIndex(index!, x!, dim, null, (pos, idx, base) => {
      if (idx < 0 || idx >= size) throw outOfBounds(op, idx, dim, size);
      out[pos] = xd[base + idx * step]!;
    });
  },
  gpu: (ctx, [x, index], [out], { dim, size, op }) => {
    const n = numel(index!.shape);
    if (n === 0) return;
    const rank = index!.shape.length;
    const xStrides = x!.strides.map((st, i) => (i === dim ? 0 : st));
    const slot = ctx.check((f) => outOfBounds(op, wordAsInt32(f.a), dim, size).message);
    const params = [n, rank, ...index!.shape, index!.offset, ...index!.strides, x!.offset, ...xStrides, x!.strides[dim]!, size, slot];
    const idxAt = 2 + rank, xAt = idxAt + 1 + rank, stepAt = xAt + 1 + rank;
    const code = cachedSource(`gather:${x!.dtype}:${out!.dtype}:${rank}`, () => `${header([{ name: 'x', dtype: x!.dtype }, { name: 'index', dtype: 'int32' }, { name: 'out', dtype: out!.dtype, write: true }, errorBinding(stepAt + 2)])}
${entry(`  if (i >= P[0]) { return; }
  let raw = index[strided(i, 2u, P[1], ${idxAt}u)];
  if (raw < 0 || raw >= i32(P[${stepAt + 1}])) { fail(1u, bitcast<u32>(raw), i); }
  let j = u32(clamp(raw, 0, i32(P[${stepAt + 1}]) - 1));
  out[i] = x[strided(i, 2u, P[1], ${xAt}u) + j * P[${stepAt}]];`)}`);
    ctx.dispatch({ code, bindings: [{ input: 0 }, { input: 1 }, { output: 0 }, { errors: true }], params, workgroups: { threads: n, size: 256 } });
  },
};

/** out = base; out[... index[pos] at dim ...] += src[pos] */
const scatterAddKernel: Kernel<IndexAttrs> = {
  name: 'scatterAdd',
  cpu: (outs, [base, index, src], { dim, size, op }) => {
    const out = outs[0]!;
    mapUnary(out, base!, (v) => v);
    const C = rowPattern({ ...base!, strides: contiguousStrides(base!.shape), offset: 0 }, index!, dim);
    if (C > 0 && src!.strides[1] === 1 && src!.strides[0] === C) {
      checkRows(index!, size, op);
      const id = index!.data, istep = index!.strides[0]!, sd = src!.data;
      for (let r = 0, i = index!.offset; r < index!.shape[0]!; r++, i += istep) {
        const to = id[i]! * C, from = src!.offset + r * C;
        for (let c = 0; c < C; c++) out[to + c] += sd[from + c]!;
      }
      return;
    }
    const outView: CpuView = { data: out, shape: base!.shape, strides: contiguousStrides(base!.shape), offset: 0, dtype: base!.dtype };
    const step = outView.strides[dim]!;
    const sd = src!.data;
    walkIndex(index!, outView, dim, src!, (_pos, idx, b, at) => {
      if (idx < 0 || idx >= size) throw outOfBounds(op, idx, dim, size);
      out[b + idx * step] += sd[at]!;
    });
  },
  gpu: (ctx, [base, index, src], [out], { dim, size, op }) => {
    if (out!.dtype === 'float16') throw new Error('scatterAdd: float16 has no GPU atomics; use float32');
    elementwise(ctx, [base!], out!, ([a]) => a!);
    const n = numel(index!.shape);
    if (n === 0) return;
    const rank = index!.shape.length;
    const outStrides = contiguousStrides(out!.shape);
    const slot = ctx.check((f) => outOfBounds(op, wordAsInt32(f.a), dim, size).message);
    const params = [n, rank, ...index!.shape, index!.offset, ...index!.strides, src!.offset, ...src!.strides, 0, ...outStrides.map((st, i) => (i === dim ? 0 : st)), outStrides[dim]!, size, slot];
    const idxAt = 2 + rank, srcAt = idxAt + 1 + rank, outAt = srcAt + 1 + rank, stepAt = outAt + 1 + rank;
    const add = () => (out!.dtype === 'int32' ? '  atomicAdd(&out[o], v);' : atomicAddF32('out[o]', 'v'));
    const code = cachedSource(`scatterAdd:${src!.dtype}:${out!.dtype}:${rank}`, () => `${header([{ name: 'index', dtype: 'int32' }, { name: 'src', dtype: src!.dtype }, { name: 'out', dtype: out!.dtype, atomic: true }, errorBinding(stepAt + 2)])}
${entry(`  if (i >= P[0]) { return; }
  let raw = index[strided(i, 2u, P[1], ${idxAt}u)];
  if (raw < 0 || raw >= i32(P[${stepAt + 1}])) { fail(1u, bitcast<u32>(raw), i); return; }
  let j = u32(raw);
  let v = src[strided(i, 2u, P[1], ${srcAt}u)];
  let o = strided(i, 2u, P[1], ${outAt}u) + j * P[${stepAt}];
${add()}`)}`);
    ctx.dispatch({ code, bindings: [{ input: 1 }, { input: 2 }, { output: 0 }, { errors: true }], params, workgroups: { threads: n, size: 256 } });
  },
};

function checkIndex(op: string, x: Tensor, dim: number, index: Tensor): number {
  sameDevice(op, [x, index]);
  if (index.dtype !== 'int32') throw new Error(`${op}: index must be int32, got ${index.dtype}`);
  const d = normalizeDim(op, dim, x.ndim);
  if (index.ndim !== x.ndim) {
    throw new Error(`${op}: index of shape ${fmt(index.shape)} must have as many dims as the input ${fmt(x.shape)}`);
  }
  index.shape.forEach((s, i) => {
    if (i !== d && s > x.shape[i]!) {
      throw new Error(`${op}: index shape ${fmt(index.shape)} exceeds input shape ${fmt(x.shape)} at dim ${i}`);
    }
  });
  return d;
}

/**
 * Pick values along `dim` by `index` (int32, same rank): out[i][j] = x[i][index[i][j]] for dim 1.
 * @example logProbs.gather(1, targets.unsqueeze(1))
 */
export function gather(x: Tensor, dim: number, index: Tensor, op = 'gather'): Tensor {
  const d = checkIndex(op, x, dim, index);
  const [out] = runKernel(gatherKernel, [x, index], [{ shape: index.shape, dtype: x.dtype }], { dim: d, size: x.shape[d]!, op });
  if (!isFloat(x.dtype)) return out!;
  // the gradient starts from a broadcast zero (a shared constant), so backward holds one x-sized buffer, not two
  return record(out!, 'gather', [x], (g) => [scatterAdd(scalarTensor(0, g.dtype, g.device).expand(...x.shape), d, index, g)]);
}

/**
 * `x` with `src` added at the positions `index` names along `dim` (duplicates accumulate).
 * @example zeros([V, C]).scatterAdd(0, ids.unsqueeze(1).expand(-1, C), grads)
 */
export function scatterAdd(x: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  const d = checkIndex('scatterAdd', x, dim, index);
  sameDevice('scatterAdd', [x, src]);
  if (src.dtype !== x.dtype) throw new Error(`scatterAdd: src dtype ${src.dtype} must match the input's ${x.dtype}`);
  if (src.ndim !== index.ndim || index.shape.some((s, i) => s > src.shape[i]!)) {
    throw new Error(`scatterAdd: src of shape ${fmt(src.shape)} must cover index shape ${fmt(index.shape)}`);
  }
  const s = index.shape.every((n, i) => n === src.shape[i]) ? src : index.shape.reduce((t, n, i) => t.narrow(i, 0, n), src);
  const [out] = runKernel(scatterAddKernel, [x, index, s], [{ shape: x.shape, dtype: x.dtype }], { dim: d, size: x.shape[d]!, op: 'scatterAdd' });
  if (!isFloat(x.dtype)) return out!;
  return record(out!, 'scatterAdd', [x, s], (g, needs) => [needs[0] ? g : null, needs[1] ? gather(g, d, index) : null]);
}

/**
 * Rows (or slices along `dim`) picked by a 1-D int32 `index`.
 * @example table.indexSelect(0, ids)
 */
export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  const d = normalizeDim('indexSelect', dim, x.ndim);
  if (index.ndim > 1) throw new Error(`indexSelect: index must be 0-D or 1-D, got shape ${fmt(index.shape)}`);
  const flat = index.reshape([-1]);
  const outShape = x.shape.map((s, i) => (i === d ? flat.shape[0]! : s));
  const spread = flat.reshape(x.shape.map((_, i) => (i === d ? -1 : 1))).expand(outShape);
  return gather(x, d, spread, 'indexSelect');
}

/**
 * Look up rows of `weight` [V, C] for integer ids of any shape → [...ids.shape, C].
 * @example embedding(idx, wte)  // (B, T) -> (B, T, C)
 */
export function embedding(ids: Tensor, weight: Tensor): Tensor {
  if (weight.ndim !== 2) throw new Error(`embedding: weight must be 2-D [numEmbeddings, dim], got ${fmt(weight.shape)}`);
  if (ids.dtype !== 'int32') throw new Error(`embedding: ids must be int32, got ${ids.dtype}`);
  return indexSelect(weight, 0, ids.reshape([-1])).view([...ids.shape, weight.shape[1]!]);
}

/**
 * `x` with `value` wherever `mask` is true (mask broadcasts).
 * @example att.maskedFill(mask.eq(0), -Infinity)
 */
export function maskedFill(x: Tensor, mask: TensorLike, value: TensorLike): Tensor {
  if (typeof mask === 'object' && mask.dtype !== 'bool') {
    throw new Error(`maskedFill: mask must be a bool tensor (e.g. mask.eq(0)), got ${mask.dtype}`);
  }
  const fill = typeof value === 'object' ? value.to(x.dtype) : typeof value === 'number' ? checkedScalar('maskedFill', value, x.dtype) : value;
  const filled = where(mask, fill, x);
  return filled.dtype === x.dtype ? filled : filled.to(x.dtype);
}
