/**
 * Fused LayerNorm over the last dim: y = (x - mean)·rstd·w + b, saving mean and rstd per row, and
 * its backward (dx per row; dw, db summed over rows). Tested against the composition in
 * composite.ts (mean, var, rsqrt, mul, add).
 */
import { isFloat } from '../dtype.ts';
import type { Kernel } from '../backend/types.ts';
import { gatherContiguous } from '../backend/cpu/backend.ts';
import { threadsFor, wasmOperands } from '../backend/cpu/rows.ts';
import { atomicAddF32, cachedSource, f32bits, header, load, rowEntry, rowHelpers, storageBuffers, store } from '../backend/webgpu/codegen.ts';
import { record } from '../autograd/tape.ts';
import type { Tensor } from '../tensor.ts';
import { runKernel, sameDevice } from './apply.ts';

interface LnAttrs {
  rows: number;
  cols: number;
  eps: number;
  hasWeight: boolean;
  hasBias: boolean;
}

/**
 * Rows per chunk of the GPU's weight and bias gradient sums: a column's sum over all rows was one
 * thread's serial loop (16,384 rows for a 64 × 256 batch, on C threads); in chunks it is spread over
 * rows / 128 times as many workgroups.
 */
const LN_CHUNK_ROWS = 128;

const layerNormKernel: Kernel<LnAttrs> = {
  name: 'layerNorm',
  cpu: ([y, mean, rstd], inputs, a) => {
    const [x, w, b] = [inputs[0]!, a.hasWeight ? inputs[1]! : null, a.hasBias ? inputs[a.hasWeight ? 2 : 1]! : null];
    const wasm = wasmOperands([x, w, b], [y!, mean!, rstd!]);
    if (wasm) {
      return wasm.rt.run('layerNormRows', [wasm.ins[0]!, wasm.ins[1]!, wasm.ins[2]!, wasm.outs[0]!, wasm.outs[1]!, wasm.outs[2]!, a.rows, a.cols, a.eps], threadsFor(wasm.rt, a.rows * a.cols));
    }
    const xs = gatherContiguous(x), ws = w ? gatherContiguous(w) : null, bs = b ? gatherContiguous(b) : null;
    for (let r = 0; r < a.rows; r++) {
      const o = r * a.cols;
      let s = 0;
      for (let j = 0; j < a.cols; j++) s += xs[o + j]!;
      const mu = s / a.cols;
      let q = 0;
      for (let j = 0; j < a.cols; j++) q += (xs[o + j]! - mu) ** 2;
      const rs = 1 / Math.sqrt(q / a.cols + a.eps);
      mean![r] = mu;
      rstd![r] = rs;
      for (let j = 0; j < a.cols; j++) y![o + j] = (xs[o + j]! - mu) * rs * (ws ? ws[j]! : 1) + (bs ? bs[j]! : 0);
    }
  },
  gpu: (ctx, inputs, [y, mean, rstd], a) => {
    const x = inputs[0]!, w = a.hasWeight ? inputs[1]! : null, b = a.hasBias ? inputs[a.hasWeight ? 2 : 1]! : null;
    const binds = [{ name: 'x', dtype: x.dtype }, ...(w ? [{ name: 'w', dtype: w.dtype }] : []), ...(b ? [{ name: 'b', dtype: b.dtype }] : []),
      { name: 'y', dtype: y!.dtype, write: true }, { name: 'mean', dtype: 'float32' as const, write: true }, { name: 'rstd', dtype: 'float32' as const, write: true }];
    const code = cachedSource(`layerNorm:${binds.map((d) => d.dtype).join()}:${w !== null}:${b !== null}`, () => `${header(binds)}
${rowEntry(`  let C = P[1];
  let base = P[3] + r * C;
  var s = 0.0;
  for (var j = l; j < C; j += 128u) { s += ${load(x.dtype, 'x[base + j]')}; }
  let mu = reduceSum(s, l) / f32(C);
  var q = 0.0;
  for (var j = l; j < C; j += 128u) { let d = ${load(x.dtype, 'x[base + j]')} - mu; q += d * d; }
  let rs = inverseSqrt(reduceSum(q, l) / f32(C) + pf(2u));
  if (l == 0u) { mean[r] = mu; rstd[r] = rs; }
  for (var j = l; j < C; j += 128u) {
    var v = (${load(x.dtype, 'x[base + j]')} - mu) * rs;
    ${w ? `v = v * ${load(w.dtype, 'w[P[4] + j]')};` : ''}
    ${b ? `v = v + ${load(b.dtype, 'b[P[5] + j]')};` : ''}
    y[r * C + j] = ${store(y!.dtype, 'v')};
  }`)}`);
    const bindings = [{ input: 0 }, ...(w ? [{ input: 1 }] : []), ...(b ? [{ input: w ? 2 : 1 }] : []), { output: 0 }, { output: 1 }, { output: 2 }];
    ctx.dispatch({ code, bindings, params: [a.rows, a.cols, f32bits(a.eps), x.offset, w?.offset ?? 0, b?.offset ?? 0], workgroups: { threads: a.rows, size: 1 } });
  },
};

/** Backward: outputs dx (rows×cols), dw and db (cols each, zero when absent). */
const layerNormBackwardKernel: Kernel<LnAttrs> = {
  name: 'layerNormBackward',
  cpu: ([dx, dw, db], inputs, a) => {
    const [g, x, mean, rstd] = inputs as [typeof inputs[0], typeof inputs[0], typeof inputs[0], typeof inputs[0]];
    const w = a.hasWeight ? inputs[4]! : null;
    const wasm = wasmOperands([g!, x!, mean!, rstd!, w], [dx!]);
    if (wasm && dw instanceof Float32Array && db instanceof Float32Array) {
      const threads = threadsFor(wasm.rt, a.rows * a.cols);
      const bytes = threads * a.cols * 8;
      const partials = wasm.rt.heap.alloc(bytes);
      if (partials >= 0) {
        wasm.rt.run('layerNormBackwardRows', [wasm.ins[0]!, wasm.ins[1]!, wasm.ins[2]!, wasm.ins[3]!, wasm.ins[4]!, wasm.outs[0]!, partials, a.rows, a.cols], threads);
        const part = new Float32Array(wasm.rt.memory.buffer, partials, threads * a.cols * 2);
        dw.fill(0);
        db.fill(0);
        for (let t = 0; t < threads; t++) {
          for (let j = 0; j < a.cols; j++) {
            dw[j] += part[t * 2 * a.cols + j]!;
            db[j] += part[t * 2 * a.cols + a.cols + j]!;
          }
        }
        wasm.rt.heap.release(partials, bytes);
        return;
      }
    }
    const gs = gatherContiguous(g!), xs = gatherContiguous(x!), ms = gatherContiguous(mean!), rs = gatherContiguous(rstd!), ws = w ? gatherContiguous(w) : null;
    dw!.fill(0);
    db!.fill(0);
    for (let r = 0; r < a.rows; r++) {
      const o = r * a.cols, mu = ms[r]!, s = rs[r]!;
      let sa = 0, sb = 0;
      for (let j = 0; j < a.cols; j++) {
        const xh = (xs[o + j]! - mu) * s, gv = gs[o + j]!, gw = ws ? gv * ws[j]! : gv;
        sa += gw;
        sb += gw * xh;
        dw![j] += gv * xh;
        db![j] += gv;
      }
      sa /= a.cols;
      sb /= a.cols;
      for (let j = 0; j < a.cols; j++) {
        const xh = (xs[o + j]! - mu) * s, gv = gs[o + j]!, gw = ws ? gv * ws[j]! : gv;
        dx![o + j] = s * (gw - sa - xh * sb);
      }
    }
  },
  gpu: (ctx, inputs, [dx, dw, db], a) => {
    const [g, x, mean, rstd] = [inputs[0]!, inputs[1]!, inputs[2]!, inputs[3]!];
    const w = a.hasWeight ? inputs[4]! : null;
    const binds = [{ name: 'g', dtype: g.dtype }, { name: 'x', dtype: x.dtype }, { name: 'mean', dtype: mean.dtype }, { name: 'rstd', dtype: rstd.dtype }, ...(w ? [{ name: 'w', dtype: w.dtype }] : [])];
    const inRefs = [{ input: 0 }, { input: 1 }, { input: 2 }, { input: 3 }, ...(w ? [{ input: 4 }] : [])];
    const gw = (j: string) => (w ? `${load(g.dtype, `g[gb + ${j}]`)} * ${load(w.dtype, `w[P[6] + ${j}]`)}` : load(g.dtype, `g[gb + ${j}]`));
    // float32 weight and bias gradients are summed in chunks of rows by many workgroups, each adding
    // its chunk into dw/db atomically (cleared first); other dtypes have no atomics: one chunk
    const chunked = dw!.dtype === 'float32' && db!.dtype === 'float32';
    const chunks = chunked ? Math.ceil(a.rows / LN_CHUNK_ROWS) : 1;
    const columnGroups = Math.ceil(a.cols / 128);
    // one dispatch: workgroups below `rows` compute dx for their row; the ones after them sum the
    // weight and bias gradients of 128 columns over a chunk of rows (independent work, same inputs).
    // That binds up to 8 tensors and the params: where they do not fit the device's storage buffers
    // (WebGPU's minimum is 8; windows of large tensors count too), two dispatches instead (dx; then
    // dw and db, without w and dx bound).
    const bothBindings = [...inRefs, { output: 0 }, { output: 1 }, { output: 2 }];
    const together = storageBuffers(ctx, bothBindings) <= ctx.caps.maxStorageBuffers;
    const dxOut = { name: 'dx', dtype: dx!.dtype, write: true };
    const sumOuts = [{ name: 'dw', dtype: dw!.dtype, write: true, atomic: chunked }, { name: 'db', dtype: db!.dtype, write: true, atomic: chunked }];
    const rowsCode = () => `  let r = wid.x + wid.y * nwg.x;
  let C = P[1];
  if (r < P[0]) {
    let gb = P[2] + r * C;
    let xb = P[3] + r * C;
    let mu = mean[P[4] + r];
    let rs = rstd[P[5] + r];
    var sa = 0.0; var sb = 0.0;
    for (var j = l; j < C; j += 128u) {
      let xh = (${load(x.dtype, 'x[xb + j]')} - mu) * rs;
      let v = ${gw('j')};
      sa += v; sb += v * xh;
    }
    sa = reduceSum(sa, l) / f32(C);
    sb = reduceSum(sb, l) / f32(C);
    for (var j = l; j < C; j += 128u) {
      let xh = (${load(x.dtype, 'x[xb + j]')} - mu) * rs;
      dx[r * C + j] = ${store(dx!.dtype, `rs * (${gw('j')} - sa - xh * sb)`)};
    }
    return;
  }
`;
    const sumsCode = () => `  let c = ${together ? 'r - P[0]' : 'wid.x + wid.y * nwg.x'};
  let i = (c % P[7]) * 128u + l;
  if (i >= C) { return; }
  let first = (c / P[7]) * P[8];
  let last = min(P[0], first + P[8]);
  var sw = 0.0; var sbias = 0.0;
  for (var row = first; row < last; row++) {
    let gv = ${load(g.dtype, 'g[P[2] + row * C + i]')};
    sw += gv * (${load(x.dtype, 'x[P[3] + row * C + i]')} - mean[P[4] + row]) * rstd[P[5] + row];
    sbias += gv;
  }
${chunked ? `${atomicAddF32('dw[i]', 'sw')}
${atomicAddF32('db[i]', 'sbias')}` : `  dw[i] = ${store(dw!.dtype, 'sw')};
  db[i] = ${store(db!.dtype, 'sbias')};`}
`;
    const kernel = (part: 'both' | 'dx' | 'sums') => cachedSource(`layerNorm.backward:${part}:${binds.map((d) => d.dtype).join()}:${dx!.dtype}:${dw!.dtype}:${db!.dtype}`, () => `${header(part === 'sums' ? [...binds.slice(0, 4), ...sumOuts] : part === 'dx' ? [...binds, dxOut] : [...binds, dxOut, ...sumOuts])}
${part === 'sums' ? '' : rowHelpers()}
@compute @workgroup_size(128)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) l: u32) {
${part === 'sums' ? '  let C = P[1];\n' : rowsCode()}${part === 'dx' ? '' : sumsCode()}}`);
    if (chunked) {
      ctx.clearOutput(1);
      ctx.clearOutput(2);
    }
    const params = [a.rows, a.cols, g.offset, x.offset, mean.offset, rstd.offset, w?.offset ?? 0, columnGroups, chunked ? LN_CHUNK_ROWS : a.rows];
    const sumGroups = columnGroups * chunks;
    if (together) {
      ctx.dispatch({ code: kernel('both'), bindings: bothBindings, params, workgroups: { threads: a.rows + sumGroups, size: 1 } });
    } else {
      ctx.dispatch({ code: kernel('dx'), bindings: [...inRefs, { output: 0 }], params, workgroups: { threads: a.rows, size: 1 } });
      ctx.dispatch({ code: kernel('sums'), bindings: [...inRefs.slice(0, 4), { output: 1 }, { output: 2 }], params, workgroups: { threads: sumGroups, size: 1 } });
    }
  },
};

/**
 * LayerNorm over the last dim in fused kernels (`layerNorm` uses it for one normalized dim).
 * @example layerNormLast(x, weight, bias, 1e-5) // x (..., C), weight/bias (C)
 */
export function layerNormLast(x: Tensor, weight: Tensor | null, bias: Tensor | null, eps: number): Tensor {
  if (!isFloat(x.dtype)) throw new Error(`layerNorm: expected a floating point input, got ${x.dtype}`);
  sameDevice('layerNorm', [x, ...(weight ? [weight] : []), ...(bias ? [bias] : [])]);
  const cols = x.shape[x.ndim - 1]!;
  const rows = x.numel() / Math.max(cols, 1);
  const attrs: LnAttrs = { rows, cols, eps, hasWeight: weight !== null, hasBias: bias !== null };
  const xc = x.contiguous();
  const w = weight?.to(x.dtype).contiguous() ?? null;
  const b = bias?.to(x.dtype).contiguous() ?? null;
  const inputs = [xc, ...(w ? [w] : []), ...(b ? [b] : [])];
  const stat = x.dtype === 'float64' ? 'float64' : 'float32';
  const [y, mean, rstd] = runKernel(layerNormKernel, inputs, [{ shape: x.shape, dtype: x.dtype }, { shape: [rows], dtype: stat }, { shape: [rows], dtype: stat }], attrs);
  return record(y!, 'layerNorm', inputs, (g, needs) => {
    const [dx, dw, db] = runKernel(layerNormBackwardKernel, [g.contiguous(), xc, mean!, rstd!, ...(w ? [w] : [])],
      [{ shape: x.shape, dtype: x.dtype }, { shape: [cols], dtype: x.dtype }, { shape: [cols], dtype: x.dtype }], attrs);
    const grads = [needs[0] ? dx! : null];
    if (w) grads.push(needs[1] ? dw! : null);
    if (b) grads.push(needs[w ? 2 : 1] ? db! : null);
    return grads;
  });
}
