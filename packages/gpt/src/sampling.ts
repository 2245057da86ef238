/**
 * Choosing the next token from logits on the host: temperature, top-k, top-p (nucleus), greedy
 * at temperature 0. Random draws come from the seeded generator, so sampling is reproducible.
 */
import { randomUniform } from '@llmts/tensor/internal';

export interface SamplingOptions {
  /** 0 = greedy (argmax); otherwise logits are divided by it. Default 1. */
  temperature?: number;
  /** Keep only the k most likely tokens. */
  topK?: number;
  /** Keep the smallest set of tokens whose probability reaches p. */
  topP?: number;
}

/** Throw with the option at fault when sampling options are out of range. */
export function checkSampling(o: SamplingOptions): void {
  if (o.temperature !== undefined && !(o.temperature >= 0)) throw new Error(`sampling: temperature must be >= 0, got ${o.temperature}`);
  if (o.topK !== undefined && !(Number.isInteger(o.topK) && o.topK >= 1)) throw new Error(`sampling: topK must be a positive integer, got ${o.topK}`);
  if (o.topP !== undefined && !(o.topP > 0 && o.topP <= 1)) throw new Error(`sampling: topP must be in (0, 1], got ${o.topP}`);
}

/** Index of the largest value (the first on ties). @example argmaxOf([1, 3, 2]) // 1 */
export function argmaxOf(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

/**
 * Next-token probabilities after temperature, top-k and top-p (zeros outside the kept set).
 * @example nextTokenProbs(logits, { temperature: 0.8, topK: 50 })
 */
export function nextTokenProbs(logits: ArrayLike<number>, o: SamplingOptions): Float64Array {
  const t = o.temperature ?? 1;
  const n = logits.length;
  let top = -Infinity;
  for (let i = 0; i < n; i++) if (logits[i]! > top) top = logits[i]!;
  if (top === -Infinity || Number.isNaN(top)) throw new Error(`sampling: no finite logit to sample from (largest is ${top})`);
  // shift before dividing: a tiny temperature then sharpens towards greedy instead of overflowing
  const scaled = Float64Array.from(logits, (v) => (v - top) / t);
  let keep: number[] | null = null;
  if (o.topK !== undefined && o.topK < n) {
    const order = [...scaled.keys()].sort((a, b) => scaled[b]! - scaled[a]! || a - b);
    keep = order.slice(0, o.topK);
  }
  const max = scaled.reduce((m, v) => Math.max(m, v), -Infinity);
  const probs = new Float64Array(n);
  let total = 0;
  const indices = keep ?? [...scaled.keys()];
  for (const i of indices) { probs[i] = Math.exp(scaled[i]! - max); total += probs[i]!; }
  for (const i of indices) probs[i]! /= total;
  if (o.topP !== undefined && o.topP < 1) {
    const order = indices.slice().sort((a, b) => probs[b]! - probs[a]! || a - b);
    let acc = 0;
    let cut = order.length;
    for (let r = 0; r < order.length; r++) {
      acc += probs[order[r]!]!;
      if (acc >= o.topP) { cut = r + 1; break; }
    }
    let kept = 0;
    for (let r = 0; r < order.length; r++) {
      if (r >= cut) probs[order[r]!] = 0;
      else kept += probs[order[r]!]!;
    }
    for (const i of order.slice(0, cut)) probs[i]! /= kept;
  }
  return probs;
}

/** Draw the next token of each row of (rows × V) logits. @example sampleRows(logits, 1, { temperature: 0 }) */
export function sampleRows(logits: ArrayLike<number>, rows: number, o: SamplingOptions): number[] {
  const V = logits.length / rows;
  const out: number[] = [];
  const u = (o.temperature ?? 1) === 0 ? null : randomUniform(rows);
  for (let r = 0; r < rows; r++) {
    const row = Array.prototype.slice.call(logits, r * V, (r + 1) * V) as number[];
    if (u === null) { out.push(argmaxOf(row)); continue; }
    const p = nextTokenProbs(row, o);
    let acc = 0;
    let pick = argmaxOf(p);
    for (let i = 0; i < V; i++) {
      acc += p[i]!;
      if (u[r]! < acc && p[i]! > 0) { pick = i; break; }
    }
    out.push(pick);
  }
  return out;
}
