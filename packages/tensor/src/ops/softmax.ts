/**
 * Fused softmax over the last dim (optionally causal: row i of each T×S matrix sees only columns
 * <= i + offset, the rest get probability 0 — attention's masked softmax in one pass) and its
 * backward dx = y ⊙ (g - Σ g⊙y). Tested against the composition exp(x - max) / Σ exp.
 */
import { fmt } from '../shape.ts';
import type { Kernel } from '../backend/types.ts';
import { gatherContiguous } from '../backend/cpu/backend.ts';
import { threadsFor, wasmOperands } from '../backend/cpu/rows.ts';
import { cachedSource, header, load, rowEntry, store } from '../backend/webgpu/codegen.ts';
import { record } from '../autograd/tape.ts';
import type { Tensor } from '../tensor.ts';
import { runKernel } from './apply.ts';

export interface SoftmaxAttrs {
  rows: number;
  cols: number;
  /** Rows per matrix for the causal mask (the query length), 0 = no mask. */
  causalRows: number;
  /** Position of the first query row relative to the first column. */
  offset: number;
}

const visible = (a: SoftmaxAttrs, r: number) => (a.causalRows > 0 ? Math.min(a.cols, (r % a.causalRows) + a.offset + 1) : a.cols);

/** The row kernels share this start: the visible length n of row r (causal rows see fewer columns). */
const ROW_START = `  let C = P[1];
  let n = select(C, min(C, r % max(P[2], 1u) + P[3] + 1u), P[2] > 0u);`;

export const softmaxKernel: Kernel<SoftmaxAttrs> = {
  name: 'softmax',
  cpu: ([y], [x], a) => {
    const w = wasmOperands([x!], [y!]);
    if (w) return w.rt.run('softmaxRows', [w.ins[0]!, w.outs[0]!, a.rows, a.cols, a.causalRows, a.offset], threadsFor(w.rt, a.rows * a.cols));
    const xs = gatherContiguous(x!);
    for (let r = 0; r < a.rows; r++) {
      const o = r * a.cols, n = visible(a, r);
      let m = -Infinity;
      for (let j = 0; j < n; j++) m = Math.max(m, xs[o + j]!);
      if (m === -Infinity) m = 0;
      let s = 0;
      for (let j = 0; j < n; j++) s += (y![o + j] = Math.exp(xs[o + j]! - m));
      for (let j = 0; j < n; j++) y![o + j] = y![o + j]! / s;
      for (let j = n; j < a.cols; j++) y![o + j] = 0;
    }
  },
  gpu: (ctx, [x], [y], a) => {
    const code = cachedSource(`softmax:${x!.dtype}:${y!.dtype}`, () => `${header([{ name: 'x', dtype: x!.dtype }, { name: 'y', dtype: y!.dtype, write: true }])}
${rowEntry(`${ROW_START}
  let base = P[4] + r * C;
  let ob = r * C;
  var m = -3.4e38;
  for (var j = l; j < n; j += 128u) { m = max(m, ${load(x!.dtype, 'x[base + j]')}); }
  m = reduceMax(m, l);
  var s = 0.0;
  for (var j = l; j < n; j += 128u) { s += exp(${load(x!.dtype, 'x[base + j]')} - m); }
  s = reduceSum(s, l);
  for (var j = l; j < C; j += 128u) {
    var v = 0.0;
    if (j < n) { v = exp(${load(x!.dtype, 'x[base + j]')} - m) / s; }
    y[ob + j] = ${store(y!.dtype, 'v')};
  }`)}`);
    ctx.dispatch({ code, bindings: [{ input: 0 }, { output: 0 }], params: [a.rows, a.cols, a.causalRows, a.offset, x!.offset], workgroups: { threads: a.rows, size: 1 } });
  },
};

export const softmaxBackwardKernel: Kernel<SoftmaxAttrs> = {
  name: 'softmaxBackward',
  cpu: ([dx], [y, g], a) => {
    const w = wasmOperands([y!, g!], [dx!]);
    if (w) return w.rt.run('softmaxBackwardRows', [w.ins[0]!, w.ins[1]!, w.outs[0]!, a.rows, a.cols], threadsFor(w.rt, a.rows * a.cols));
    const ys = gatherContiguous(y!), gs = gatherContiguous(g!);
    for (let r = 0; r < a.rows; r++) {
      const o = r * a.cols;
      let d = 0;
      for (let j = 0; j < a.cols; j++) d += ys[o + j]! * gs[o + j]!;
      for (let j = 0; j < a.cols; j++) dx![o + j] = ys[o + j]! * (gs[o + j]! - d);
    }
  },
  gpu: (ctx, [y, g], [dx], a) => {
    const code = cachedSource(`softmax.backward:${y!.dtype}:${g!.dtype}:${dx!.dtype}`, () => `${header([{ name: 'y', dtype: y!.dtype }, { name: 'g', dtype: g!.dtype }, { name: 'dx', dtype: dx!.dtype, write: true }])}
${rowEntry(`  let C = P[1];
  let yb = P[4] + r * C;
  let gb = P[5] + r * C;
  var d = 0.0;
  for (var j = l; j < C; j += 128u) { d += ${load(y!.dtype, 'y[yb + j]')} * ${load(g!.dtype, 'g[gb + j]')}; }
  d = reduceSum(d, l);
  for (var j = l; j < C; j += 128u) {
    dx[r * C + j] = ${store(dx!.dtype, `${load(y!.dtype, 'y[yb + j]')} * (${load(g!.dtype, 'g[gb + j]')} - d)`)};
  }
`)}`);
    ctx.dispatch({ code, bindings: [{ input: 0 }, { input: 1 }, { output: 0 }], params: [a.rows, a.cols, 0, 0, y!.offset, g!.offset], workgroups: { threads: a.rows, size: 1 } });
  },
};

/**
 * Softmax over the last dim in one fused kernel; with `causal`, each T×S matrix is masked so that
 * query row i sees columns <= i + offset (offset = S - T by default: the queries are the last T
 * positions). @example causalSoftmax(q.matmul(k.transpose(-2, -1)).mul(scale))
 */
export function softmaxLast(x: Tensor, causal?: { offset?: number }): Tensor {
  if (x.ndim === 0) throw new Error('softmax: expected at least 1 dim');
  const cols = x.shape[x.ndim - 1]!;
  const rows = x.numel() / Math.max(cols, 1);
  let causalRows = 0, offset = 0;
  if (causal) {
    if (x.ndim < 2) throw new Error(`causalSoftmax: expected [..., T, S], got shape ${fmt(x.shape)}`);
    causalRows = x.shape[x.ndim - 2]!;
    offset = causal.offset ?? cols - causalRows;
    if (offset < 0) throw new Error(`causalSoftmax: offset ${offset} would hide every column of some rows (shape ${fmt(x.shape)})`);
  }
  const attrs: SoftmaxAttrs = { rows, cols, causalRows, offset };
  const xc = x.contiguous();
  const [y] = runKernel(softmaxKernel, [xc], [{ shape: x.shape, dtype: x.dtype }], attrs);
  return record(y!, 'softmax', [xc], (g) => [runKernel(softmaxBackwardKernel, [y!, g.contiguous()], [{ shape: x.shape, dtype: x.dtype }], attrs)[0]!]);
}

/** Attention's masked softmax: row i of each [..., T, S] matrix sees columns <= i + (S - T). */
export function causalSoftmax(x: Tensor, offset?: number): Tensor {
  return softmaxLast(x, { offset });
}
