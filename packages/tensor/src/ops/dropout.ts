/**
 * Dropout as one kernel: element i is kept when the i-th uniform of a counter-based draw is at
 * least p, then scaled by 1/(1-p). Backward runs the same kernel on the gradient with the same
 * draw, so nothing is stored for it (PyTorch keeps a mask). Values are exactly those of
 * `where(rand(shape).ge(p), x.mul(1 / (1 - p)), 0)` with the same draw.
 */
import { isFloat } from '../dtype.ts';
import type { Kernel } from '../backend/types.ts';
import { contiguousStrides, isContiguous, shapesEqual } from '../shape.ts';
import { RowWalker } from '../backend/cpu/strided.ts';
import { elementwise, f32bits } from '../backend/webgpu/codegen.ts';
import { record } from '../autograd/tape.ts';
import { nextDrawKey, uniformAt } from '../random.ts';
import type { Tensor } from '../tensor.ts';
import { runKernel, sameDevice } from './apply.ts';

/** The draw key is the first of the kernels' extra params (a captured graph redraws it at each replay). */
const KEY_FIRST = [0];

interface DropoutAttrs {
  key: number;
  p: number;
  scale: number;
  /** Index of element 0 in the draw (a slice of a bigger tensor's draw); 0 by default. */
  base?: number;
}

export const dropoutKernel: Kernel<DropoutAttrs> = {
  name: 'dropout',
  cpu: (outs, [x], { key, p, scale, base = 0 }) => {
    const out = outs[0]!;
    const pf = Math.fround(p), sf = Math.fround(scale);
    const xd = x!.data;
    if (isContiguous(x!.shape, x!.strides)) {
      const o = x!.offset;
      for (let i = 0; i < out.length; i++) out[i] = uniformAt(key, base + i) >= pf ? xd[o + i]! * sf : 0;
      return;
    }
    const it = new RowWalker(x!.shape, [contiguousStrides(x!.shape), x!.strides], [0, x!.offset]);
    const so = it.steps[0]!, sx = it.steps[1]!;
    for (let r = 0; r < it.rows; r++, it.advance()) {
      let o = it.offsets[0]!, i = it.offsets[1]!;
      for (let j = 0; j < it.inner; j++, o += so, i += sx) out[o] = uniformAt(key, base + o) >= pf ? xd[i]! * sf : 0;
    }
  },
  gpu: (ctx, [x], [out], { key, p, scale, base = 0 }) =>
    elementwise(ctx, [x!], out!, ([a], at) => `select(0.0, ${a} * pf(${at + 1}u), uniform_at(P[${at}u], P[${at + 3}u] + i) >= pf(${at + 2}u))`, [key >>> 0, f32bits(scale), f32bits(p), base >>> 0], KEY_FIRST),
};

/** Apply the draw `key` to x (forward) or to a gradient (backward). */
function applyDraw(x: Tensor, attrs: DropoutAttrs): Tensor {
  const [out] = runKernel(dropoutKernel, [x], [{ shape: x.shape, dtype: x.dtype }], attrs);
  return record(out!, 'dropout', [x], (g) => [applyDraw(g, attrs)]);
}

/** Dropout of a floating-point tensor in training, 0 < p < 1 (the caller handles the rest). */
export function fusedDropout(x: Tensor, p: number): Tensor {
  if (!isFloat(x.dtype)) throw new Error(`dropout: expected a floating-point tensor, got ${x.dtype}`);
  return applyDraw(x, { key: nextDrawKey(), p, scale: 1 / (1 - p) });
}

/**
 * Apply the dropout draw `key` with probability p (0 < p < 1) to x, whose element 0 is element
 * `base` of the draw: how attention drops a slice of its (B, H, Tq, Tk) weights.
 */
export function applyDropoutDraw(x: Tensor, key: number, p: number, base = 0): Tensor {
  return applyDraw(x, { key, p, scale: 1 / (1 - p), base });
}

/** out = x + dropout(y): a residual connection and the dropout before it in one pass. */

const dropoutAddKernel: Kernel<DropoutAttrs> = {
  name: 'dropoutAdd',
  cpu: (outs, [x, y], { key, p, scale }) => {
    const out = outs[0]!;
    const pf = Math.fround(p), sf = Math.fround(scale);
    const it = new RowWalker(x!.shape, [contiguousStrides(x!.shape), x!.strides, y!.strides], [0, x!.offset, y!.offset]);
    const [so, sx, sy] = it.steps as [number, number, number];
    const xd = x!.data, yd = y!.data;
    for (let r = 0; r < it.rows; r++, it.advance()) {
      let o = it.offsets[0]!, i = it.offsets[1]!, k = it.offsets[2]!;
      for (let j = 0; j < it.inner; j++, o += so, i += sx, k += sy) {
        // rounded like the two ops it replaces: the dropped value to float32, then the sum
        out[o] = xd[i]! + (uniformAt(key, o) >= pf ? Math.fround(yd[k]! * sf) : 0);
      }
    }
  },
  gpu: (ctx, [x, y], [out], { key, p, scale }) =>
    elementwise(ctx, [x!, y!], out!, ([a, b], at) => `${a} + select(0.0, ${b} * pf(${at + 1}u), uniform_at(P[${at}u], i) >= pf(${at + 2}u))`, [key >>> 0, f32bits(scale), f32bits(p)], KEY_FIRST),
};

/**
 * x + dropout(y, p) in one kernel (a residual connection after a dropped-out branch), with exactly
 * the values and draw of `x.add(dropout(y, p, training))`. @example x = dropoutAdd(x, attn(ln1(x)), 0.1, training)
 */
export function dropoutAdd(x: Tensor, y: Tensor, p: number, training = true): Tensor {
  if (!(p >= 0 && p <= 1)) throw new Error(`dropoutAdd: p must be in [0, 1], got ${p}`);
  if (!training || p === 0) return x.add(y);
  // not fused: p = 1 (everything dropped), or operands that broadcast or differ in dtype
  if (p === 1 || x.dtype !== y.dtype || !isFloat(x.dtype) || !shapesEqual(x.shape, y.shape)) return x.add(p === 1 ? y.mul(0) : fusedDropout(y, p));
  const attrs: DropoutAttrs = { key: nextDrawKey(), p, scale: 1 / (1 - p) };
  sameDevice('dropoutAdd', [x, y]);
  const [out] = runKernel(dropoutAddKernel, [x, y], [{ shape: x.shape, dtype: x.dtype }], attrs);
  return record(out!, 'dropoutAdd', [x, y], (g, needs) => [needs[0] ? g : null, needs[1] ? applyDraw(g, attrs) : null]);
}
