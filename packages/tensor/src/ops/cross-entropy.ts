/**
 * Fused cross-entropy rows for class targets: loss_r = logsumexp(x_r) - ((1-s)·x_r[t_r] + s·mean(x_r))
 * (0 where t_r is the ignore index; -Infinity logits, i.e. masked classes, give 0 or +Infinity as in
 * PyTorch, never NaN), and its backward g_r·(softmax(x_r) - (1-s)·onehot(t_r) - s/C).
 * `crossEntropy` reduces the rows; tested against the logSoftmax/gather composition.
 */
import type { Kernel } from '../backend/types.ts';
import { gatherContiguous } from '../backend/cpu/backend.ts';
import { threadsFor, wasmOperands } from '../backend/cpu/rows.ts';
import { cachedSource, errorBinding, f32bits, header, load, rowEntry, store, wordAsInt32 } from '../backend/webgpu/codegen.ts';
import { record } from '../autograd/tape.ts';
import type { Tensor } from '../tensor.ts';
import { disposeIfUnrecorded, runKernel } from './apply.ts';

/** The error for a class target that is neither a class nor the ignore index (CPU and GPU alike). */
export function targetOutOfBounds(target: number, position: number, classes: number, ignoreIndex: number): string {
  return `crossEntropy: target ${target} at position ${position} is out of bounds for ${classes} classes (ignoreIndex ${ignoreIndex})`;
}

interface CeAttrs {
  rows: number;
  cols: number;
  ignoreIndex: number;
  smoothing: number;
}

const ceKernel: Kernel<CeAttrs> = {
  name: 'crossEntropy',
  cpu: ([loss, lse], [x, t], a) => {
    const w = wasmOperands([x!, t!], [loss!, lse!]);
    if (w && t!.dtype === 'int32') return w.rt.run('crossEntropyRows', [w.ins[0]!, w.ins[1]!, w.outs[0]!, w.outs[1]!, a.rows, a.cols, a.ignoreIndex, a.smoothing], threadsFor(w.rt, a.rows * a.cols));
    const xs = gatherContiguous(x!), ts = gatherContiguous(t!);
    for (let r = 0; r < a.rows; r++) {
      const o = r * a.cols;
      let m = -Infinity, total = 0;
      for (let j = 0; j < a.cols; j++) { m = Math.max(m, xs[o + j]!); total += xs[o + j]!; }
      let s = 0;
      for (let j = 0; j < a.cols; j++) s += Math.exp(xs[o + j]! - m);
      const l = m + Math.log(s);
      lse![r] = l;
      const target = ts[r]!;
      // the smoothing term only when smoothing is on: 0 · (-Infinity) would turn a masked logit into NaN
      loss![r] = target === a.ignoreIndex ? 0 : l - (1 - a.smoothing) * xs[o + target]! - (a.smoothing > 0 ? (a.smoothing * total) / a.cols : 0);
    }
  },
  gpu: (ctx, [x, t], [loss, lse], a) => {
    const slot = ctx.check((f) => targetOutOfBounds(wordAsInt32(f.a), f.b, a.cols, a.ignoreIndex));
    const code = cachedSource(`crossEntropy:${x!.dtype}:${loss!.dtype}:${lse!.dtype}`, () => `${header([{ name: 'x', dtype: x!.dtype }, { name: 't', dtype: 'int32' }, { name: 'loss', dtype: loss!.dtype, write: true }, { name: 'lse', dtype: lse!.dtype, write: true }, errorBinding(6)])}
${rowEntry(`  let C = P[1];
  let base = P[4] + r * C;
  var m = -3.4e38; var total = 0.0;
  for (var j = l; j < C; j += 128u) { let v = ${load(x!.dtype, 'x[base + j]')}; m = max(m, v); total += v; }
  m = reduceMax(m, l);
  total = reduceSum(total, l);
  var s = 0.0;
  for (var j = l; j < C; j += 128u) { s += exp(${load(x!.dtype, 'x[base + j]')} - m); }
  let lv = m + log(reduceSum(s, l));
  if (l == 0u) {
    lse[r] = ${store(lse!.dtype, 'lv')};
    let tgt = t[P[5] + r];
    var out = 0.0;
    if (tgt != bitcast<i32>(P[2])) {
      if (tgt < 0 || tgt >= i32(C)) { fail(1u, bitcast<u32>(tgt), r); }
      let picked = ${load(x!.dtype, 'x[base + u32(clamp(tgt, 0, i32(C) - 1))]')};
      out = lv - (1.0 - pf(3u)) * picked - select(0.0, pf(3u) * total / f32(C), pf(3u) > 0.0);
    }
    loss[r] = ${store(loss!.dtype, 'out')};
  }`)}`);
    ctx.dispatch({ code, bindings: [{ input: 0 }, { input: 1 }, { output: 0 }, { output: 1 }, { errors: true }], params: [a.rows, a.cols, a.ignoreIndex >>> 0, f32bits(a.smoothing), x!.offset, t!.offset, slot], workgroups: { threads: a.rows, size: 1 } });
  },
};

const ceBackwardKernel: Kernel<CeAttrs> = {
  name: 'crossEntropyBackward',
  cpu: ([dx], [x, t, lse, g], a) => {
    const w = wasmOperands([x!, t!, lse!, g!], [dx!]);
    if (w && t!.dtype === 'int32') return w.rt.run('crossEntropyBackwardRows', [w.ins[0]!, w.ins[1]!, w.ins[2]!, w.ins[3]!, w.outs[0]!, a.rows, a.cols, a.ignoreIndex, a.smoothing], threadsFor(w.rt, a.rows * a.cols));
    const xs = gatherContiguous(x!), ts = gatherContiguous(t!), ls = gatherContiguous(lse!), gs = gatherContiguous(g!);
    for (let r = 0; r < a.rows; r++) {
      const o = r * a.cols, target = ts[r]!;
      const gr = target === a.ignoreIndex ? 0 : gs[r]!;
      for (let j = 0; j < a.cols; j++) dx![o + j] = gr * (Math.exp(xs[o + j]! - ls[r]!) - a.smoothing / a.cols);
      if (target !== a.ignoreIndex) dx![o + target] = dx![o + target]! - gr * (1 - a.smoothing);
    }
  },
  gpu: (ctx, [x, t, lse, g], [dx], a) => {
    const code = cachedSource(`crossEntropy.backward:${x!.dtype}:${lse!.dtype}:${g!.dtype}:${dx!.dtype}`, () => `${header([{ name: 'x', dtype: x!.dtype }, { name: 't', dtype: 'int32' }, { name: 'lse', dtype: lse!.dtype }, { name: 'g', dtype: g!.dtype }, { name: 'dx', dtype: dx!.dtype, write: true }])}
${rowEntry(`  let C = P[1];
  let tgt = t[P[5] + r];
  let ignored = tgt == bitcast<i32>(P[2]);
  let gr = select(${load(g!.dtype, 'g[P[7] + r * P[8]]')}, 0.0, ignored);
  let lv = ${load(lse!.dtype, 'lse[P[6] + r]')};
  let u = pf(3u) / f32(C);
  for (var j = l; j < C; j += 128u) {
    var v = gr * (exp(${load(x!.dtype, 'x[P[4] + r * C + j]')} - lv) - u);
    if (!ignored && i32(j) == tgt) { v = v - gr * (1.0 - pf(3u)); }
    dx[r * C + j] = ${store(dx!.dtype, 'v')};
  }`)}`);
    ctx.dispatch({ code, bindings: [{ input: 0 }, { input: 1 }, { input: 2 }, { input: 3 }, { output: 0 }], params: [a.rows, a.cols, a.ignoreIndex >>> 0, f32bits(a.smoothing), x!.offset, t!.offset, lse!.offset, g!.offset, g!.strides[0]!], workgroups: { threads: a.rows, size: 1 } });
  },
};

/**
 * Per-row cross-entropy of logits [N, C] against int32 class targets [N] in one fused kernel
 * (0 for ignored rows). Targets must be valid class indices or the ignore index.
 */
export function crossEntropyRows(logits: Tensor, targets: Tensor, ignoreIndex: number, smoothing: number): Tensor {
  const [rows, cols] = logits.shape as [number, number];
  const attrs: CeAttrs = { rows, cols, ignoreIndex, smoothing };
  const x = logits.contiguous();
  const t = targets.contiguous();
  const stat = x.dtype === 'float64' ? 'float64' : 'float32';
  const [loss, lse] = runKernel(ceKernel, [x, t], [{ shape: [rows], dtype: x.dtype }, { shape: [rows], dtype: stat }], attrs);
  // the GPU reads the upstream gradient with its stride (a mean's gradient is one value broadcast)
  const out = record(loss!, 'crossEntropy', [x], (g) => [runKernel(ceBackwardKernel, [x, t, lse!, x.device === 'gpu' && g.ndim === 1 ? g : g.contiguous()], [{ shape: [rows, cols], dtype: x.dtype }], attrs)[0]!]);
  // the log-sum-exp and contiguous copies are kept for backward only
  disposeIfUnrecorded(out, [lse!, x, t], [logits, targets]);
  return out;
}
