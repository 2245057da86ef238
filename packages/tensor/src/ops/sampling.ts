import { fmt, normalizeDim, contiguousStrides } from '../shape.ts';
import { isFloat } from '../dtype.ts';
import type { Kernel } from '../backend/types.ts';
import { gatherContiguous } from '../backend/cpu/backend.ts';
import { RowWalker } from '../backend/cpu/strided.ts';
import type { Tensor } from '../tensor.ts';
import { runKernel } from './apply.ts';
import { nextDrawKey, uniformAt } from '../random.ts';
import { cachedSource, entry, errorBinding, header, literal, load, wordAsFloat32 } from '../backend/webgpu/codegen.ts';

interface MultinomialAttrs {
  key: number;
  samples: number;
  replacement: boolean;
}

// the errors of the CPU kernel, and of the GPU kernel when it reports through fail()
const badProbability = (row: number, w: number) => `multinomial: probabilities must be finite and non-negative, row ${row} has ${w}`;
const noPositive = (row: number) => `multinomial: row ${row} has no positive probability`;
const tooFewClasses = (row: number, samples: number) => `multinomial: row ${row} has fewer than ${samples} positive classes to draw without replacement`;

/** Inverse-CDF sampling per row; without replacement, drawn classes leave the pool. */
const multinomialKernel: Kernel<MultinomialAttrs> = {
  name: 'multinomial',
  cpu: (outs, [probs], { key, samples, replacement }) => {
    const out = outs[0]!;
    const p = gatherContiguous(probs!);
    const C = probs!.shape[probs!.shape.length - 1]!;
    const rows = p.length / C;
    const weights = new Float64Array(C);
    for (let r = 0; r < rows; r++) {
      let total = 0;
      for (let c = 0; c < C; c++) {
        const w = p[r * C + c]!;
        if (!(w >= 0) || w === Infinity) throw new Error(badProbability(r, w));
        weights[c] = w;
        total += w;
      }
      if (!(total > 0)) throw new Error(noPositive(r));
      for (let s = 0; s < samples; s++) {
        const u = uniformAt(key, r * samples + s) * total;
        let acc = 0;
        let pick = -1;
        for (let c = 0; c < C; c++) {
          acc += weights[c]!;
          if (weights[c]! > 0) pick = c;
          if (u < acc && weights[c]! > 0) break;
        }
        out[r * samples + s] = pick;
        if (!replacement) {
          total -= weights[pick]!;
          weights[pick] = 0;
          if (!(total > 0) && s + 1 < samples) throw new Error(tooFewClasses(r, samples));
        }
      }
    }
  },
  gpu: (ctx, [probs], [out], { key, samples, replacement }) => {
    const C = probs!.shape[probs!.shape.length - 1]!;
    const rows = probs!.shape.length === 2 ? probs!.shape[0]! : 1;
    const rowStride = probs!.shape.length === 2 ? probs!.strides[0]! : 0;
    const colStride = probs!.strides[probs!.shape.length - 1]!;
    const w = ctx.scratch(rows * C * 4);
    const slot = ctx.check((f) => (f.code === 1 ? badProbability(f.a, wordAsFloat32(f.b)) : f.code === 2 ? noPositive(f.a) : tooFewClasses(f.a, samples)));
    const code = cachedSource(`multinomial:${probs!.dtype}`, () => `${header([{ name: 'p', dtype: probs!.dtype }, { name: 'out', dtype: 'int32', write: true }, { name: 'w', dtype: 'float32', write: true }, errorBinding(8)])}
${entry(`  let r = i;
  if (r >= P[0]) { return; }
  let C = P[1]; let S = P[2];
  var total = 0.0;
  for (var c = 0u; c < C; c++) {
    let raw = ${load(probs!.dtype, 'p[P[5] + r * P[6] + c * P[7]]')};
    // NaN fails both comparisons; +Infinity is not finite
    if (!(raw >= 0.0) || raw > 3.4028234663852886e38) { fail(1u, r, bitcast<u32>(raw)); }
    let v = max(raw, 0.0);
    w[r * C + c] = v;
    total += v;
  }
  if (!(total > 0.0)) { fail(2u, r, 0u); }
  for (var s = 0u; s < S; s++) {
    let u = uniform_at(P[3], r * S + s) * total;
    var acc = 0.0; var pick = 0u;
    for (var c = 0u; c < C; c++) {
      let v = w[r * C + c];
      acc += v;
      if (v > 0.0) { pick = c; }
      if (u < acc && v > 0.0) { break; }
    }
    out[r * S + s] = i32(pick);
    if (P[4] == 0u) {
      total -= w[r * C + pick]; w[r * C + pick] = 0.0;
      if (!(total > 0.0) && s + 1u < S) { fail(3u, r, 0u); }
    }
  }`, 64)}`);
    ctx.dispatch({ code, bindings: [{ input: 0 }, { output: 0 }, { scratch: w }, { errors: true }], params: [rows, C, samples, key, replacement ? 1 : 0, probs!.offset, rowStride, colStride, slot], workgroups: { threads: rows, size: 64 }, keyWords: [3] });
  },
};

/**
 * Draw class indices (int32) from each row of non-negative weights [C] or [N, C].
 * @example const next = multinomial(probs, 1)  // (B, 1)
 */
export function multinomial(probs: Tensor, numSamples: number, options: { replacement?: boolean } = {}): Tensor {
  const replacement = options.replacement ?? false;
  if (probs.ndim < 1 || probs.ndim > 2) throw new Error(`multinomial: expected 1-D or 2-D probabilities, got shape ${fmt(probs.shape)}`);
  if (!isFloat(probs.dtype)) throw new Error(`multinomial: probabilities must be floating point, got ${probs.dtype}`);
  const C = probs.shape[probs.ndim - 1]!;
  if (!Number.isInteger(numSamples) || numSamples <= 0) throw new Error(`multinomial: numSamples must be a positive integer, got ${numSamples}`);
  if (!replacement && numSamples > C) throw new Error(`multinomial: cannot draw ${numSamples} samples from ${C} classes without replacement`);
  const shape = probs.ndim === 1 ? [numSamples] : [probs.shape[0]!, numSamples];
  return runKernel(multinomialKernel, [probs], [{ shape, dtype: 'int32' }], { key: nextDrawKey(), samples: numSamples, replacement })[0]!;
}

interface TopkAttrs {
  k: number;
  dim: number;
  largest: boolean;
}

/** Indices of the k largest (or smallest) values along `dim`, best first; ties keep the lower index. */
const topkKernel: Kernel<TopkAttrs> = {
  name: 'topk',
  cpu: (outs, [x], { k, dim, largest }) => {
    const out = outs[0]!;
    const n = x!.shape[dim]!;
    const step = x!.strides[dim]!;
    const rest = x!.shape.map((s, i) => (i === dim ? 1 : s));
    const outShape = x!.shape.map((s, i) => (i === dim ? k : s));
    const outStrides = contiguousStrides(outShape);
    const it = new RowWalker(rest, [outStrides, x!.strides], [0, x!.offset]);
    const order = new Array<number>(n);
    const vals = new Float64Array(n);
    const sign = largest ? -1 : 1;
    for (let r = 0; r < it.rows; r++, it.advance()) {
      for (let j = 0; j < it.inner; j++) {
        const base = it.offsets[1]! + j * it.steps[1]!;
        const o = it.offsets[0]! + j * it.steps[0]!;
        for (let i = 0; i < n; i++) { order[i] = i; const v = x!.data[base + i * step]!; vals[i] = v !== v ? -sign * Infinity : v; }
        order.sort((a, b) => sign * (vals[a]! - vals[b]!) || a - b);
        for (let i = 0; i < k; i++) out[o + i * outStrides[dim]!] = order[i]!;
      }
    }
  },
  gpu: (ctx, [x], [out], { k, dim, largest }) => {
    const shape = x!.shape;
    const restDims = shape.map((_, d) => d).filter((d) => d !== dim);
    const rows = restDims.reduce((a, d) => a * shape[d]!, 1);
    if (rows === 0 || k === 0) return;
    const outShape = shape.map((s, i) => (i === dim ? k : s));
    const outStrides = contiguousStrides(outShape);
    const rr = restDims.length;
    const params = [rows, shape[dim]!, k, x!.offset, x!.strides[dim]!, outStrides[dim]!, rr,
      ...restDims.map((d) => shape[d]!), ...restDims.map((d) => x!.strides[d]!), ...restDims.map((d) => outStrides[d]!)];
    const better = largest ? '>' : '<';
    const after = largest ? '<' : '>';
    const zero = literal(x!.dtype, 0);
    const code = cachedSource(`topk:${x!.dtype}:${largest}`, () => `${header([{ name: 'x', dtype: x!.dtype }, { name: 'out', dtype: 'int32', write: true }])}
${entry(`  if (i >= P[0]) { return; }
  let n = P[1]; let K = P[2]; let R = P[6];
  var rem = i; var xb = P[3]; var ob = 0u;
  for (var d = i32(R) - 1; d >= 0; d--) {
    let s = P[7u + u32(d)];
    let c = rem % s;
    rem = rem / s;
    xb += c * P[7u + R + u32(d)];
    ob += c * P[7u + 2u * R + u32(d)];
  }
  var prevV = ${zero}; var prevJ = 0u; var have = false;
  for (var t = 0u; t < K; t++) {
    var bestV = ${zero}; var bestJ = 0xffffffffu;
    for (var j = 0u; j < n; j++) {
      let v = ${load(x!.dtype, 'x[xb + j * P[4]]')};
      let eligible = !have || v ${after} prevV || (v == prevV && j > prevJ);
      if (eligible && (bestJ == 0xffffffffu || v ${better} bestV)) { bestV = v; bestJ = j; }
    }
    out[ob + t * P[5]] = i32(bestJ);
    prevV = bestV; prevJ = bestJ; have = true;
  }`, 64)}`);
    ctx.dispatch({ code, bindings: [{ input: 0 }, { output: 0 }], params, workgroups: { threads: rows, size: 64 } });
  },
};

/**
 * The k largest values along `dim` and their int32 indices (values carry gradients).
 * @example const { values } = topk(logits, 10); // threshold for top-k sampling
 */
export function topk(x: Tensor, k: number, dim = -1, largest = true): { values: Tensor; indices: Tensor } {
  const d = normalizeDim('topk', dim, x.ndim);
  const n = x.ndim === 0 ? 1 : x.shape[d]!;
  if (!Number.isInteger(k) || k < 0 || k > n) throw new Error(`topk: k=${k} is out of range for dim ${dim} of size ${n} (shape ${fmt(x.shape)})`);
  if (x.ndim === 0) return { values: x, indices: x.to('int32').mul(0) };
  const outShape = x.shape.map((s, i) => (i === d ? k : s));
  const [indices] = runKernel(topkKernel, [x], [{ shape: outShape, dtype: 'int32' }], { k, dim: d, largest });
  return { values: x.gather(d, indices!), indices: indices! };
}
