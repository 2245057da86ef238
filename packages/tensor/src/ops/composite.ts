/**
 * The nn functions of the public API. softmax, layerNorm, gelu and class-target crossEntropy run
 * fused kernels (ops/softmax.ts, layernorm.ts, gelu.ts, cross-entropy.ts) that are tested against
 * the compositions in ops/reference.ts; the rest are composed from primitives here.
 */
import { isFloat } from '../dtype.ts';
import { fmt, normalizeDim } from '../shape.ts';
import type { Tensor } from '../tensor.ts';
import { where } from './binary.ts';
import { fusedDropout } from './dropout.ts';
import { maskedMean } from './masked-mean.ts';
import { getBackend } from '../backend/registry.ts';
import * as reference from './reference.ts';
import { softmaxLast } from './softmax.ts';
import { layerNormLast } from './layernorm.ts';
import { geluFused } from './gelu.ts';
import { crossEntropyRows, targetOutOfBounds } from './cross-entropy.ts';
import { disposeIfUnrecorded } from './apply.ts';

export type { CrossEntropyOptions } from './reference.ts';
import type { CrossEntropyOptions } from './reference.ts';

/**
 * exp(x) / sum(exp(x)) along `dim` (one fused, numerically stable kernel).
 * @example softmax(att, -1)
 */
export function softmax(x: Tensor, dim: number): Tensor {
  const d = normalizeDim('softmax', dim, x.ndim);
  const xf = isFloat(x.dtype) ? x : x.to('float32');
  if (xf.ndim === 0) return reference.softmax(xf, 0);
  if (d === xf.ndim - 1) return softmaxLast(xf);
  return softmaxLast(xf.transpose(d, -1)).transpose(d, -1);
}

/** log(softmax(x)) along `dim`, stable for large logits. */
export const logSoftmax = reference.logSoftmax;

/**
 * Layer normalization over the trailing `normalizedShape` dims, then `weight`/`bias` if given
 * (fused kernels, forward and backward).
 * @example layerNorm(x, [C], ln.weight, ln.bias)
 */
export function layerNorm(x: Tensor, normalizedShape: number | readonly number[], weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  const shape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
  const tail = x.shape.slice(x.ndim - shape.length);
  if (shape.length === 0 || shape.length > x.ndim || tail.some((s, i) => s !== shape[i])) {
    throw new Error(`layerNorm: normalizedShape ${fmt(shape)} does not match the trailing dims of input ${fmt(x.shape)}`);
  }
  for (const [name, p] of [['weight', weight], ['bias', bias]] as const) {
    if (p && (p.ndim !== shape.length || p.shape.some((s, i) => s !== shape[i]))) {
      throw new Error(`layerNorm: ${name} of shape ${fmt(p.shape)} must have normalizedShape ${fmt(shape)}`);
    }
  }
  if (shape.length === 1) return layerNormLast(x, weight ?? null, bias ?? null, eps);
  const n = shape.reduce((a, b) => a * b, 1);
  const flat = layerNormLast(x.reshape([...x.shape.slice(0, x.ndim - shape.length), n]), weight?.reshape([n]) ?? null, bias?.reshape([n]) ?? null, eps);
  return flat.reshape(x.shape);
}

/**
 * GELU: exact `x·Φ(x)` (erf) by default, or the tanh approximation GPT-2 used (one fused kernel).
 * @example gelu(x, { approximate: 'tanh' })
 */
export function gelu(x: Tensor, options: { approximate?: 'none' | 'tanh' } = {}): Tensor {
  const approximate = options.approximate ?? 'none';
  if (approximate !== 'none' && approximate !== 'tanh') throw new Error(`gelu: approximate must be 'none' or 'tanh', got '${approximate}'`);
  return geluFused(x, approximate === 'tanh');
}

/**
 * Cross-entropy between logits and targets, as `F.cross_entropy`: logits [N, C] (or [C], or
 * [N, C, d1, …]) with int32 class indices [N] (or [N, d1, …]), or float class probabilities of the
 * logits' shape. Class targets run one fused kernel per row.
 * @example crossEntropy(logits.view(B * T, C), targets.view(B * T))
 */
export function crossEntropy(logits: Tensor, targets: Tensor, options: CrossEntropyOptions = {}): Tensor {
  const { ignoreIndex = -100, reduction = 'mean', labelSmoothing = 0 } = options;
  if (isFloat(targets.dtype) || targets.dtype !== 'int32' || !isFloat(logits.dtype) || logits.ndim === 0 || !(labelSmoothing >= 0 && labelSmoothing <= 1)) {
    return reference.crossEntropy(logits, targets, options);
  }
  const classDim = logits.ndim === 1 ? 0 : 1;
  const C = logits.shape[classDim]!;
  const expected = logits.shape.filter((_, i) => i !== classDim);
  if (targets.shape.length !== expected.length || targets.shape.some((s, i) => s !== expected[i])) {
    throw new Error(`crossEntropy: targets of shape ${fmt(targets.shape)} do not match logits ${fmt(logits.shape)} (expected ${fmt(expected)})`);
  }
  if (reduction !== 'mean' && reduction !== 'sum' && reduction !== 'none') throw new Error(`crossEntropy: reduction must be 'mean', 'sum' or 'none', got '${reduction}'`);
  if (targets.device === 'cpu') checkTargets(targets, C, ignoreIndex);
  // rows of C logits: move the class dim last
  const moved = logits.ndim > 2 ? logits.movedim(1, -1) : null;
  const rows = logits.ndim === 1 ? logits.reshape([1, C]) : moved === null ? logits : moved.reshape([-1, C]);
  const flatTargets = targets.reshape([-1]);
  const losses = crossEntropyRows(rows, flatTargets, ignoreIndex, labelSmoothing);
  const out = reduction === 'none' ? losses.reshape(targets.shape) : reduction === 'sum' ? losses.sum() : maskedMean(losses, flatTargets, ignoreIndex);
  disposeIfUnrecorded(out, [losses, rows, flatTargets, ...(moved === null ? [] : [moved])], [logits, targets]);
  return out;
}

function checkTargets(targets: Tensor, classes: number, ignoreIndex: number): void {
  const values = getBackend('cpu').readSync!(targets);
  for (let i = 0; i < values.length; i++) {
    const t = values[i]!;
    if (t !== ignoreIndex && (t < 0 || t >= classes)) {
      throw new Error(targetOutOfBounds(t, i, classes, ignoreIndex));
    }
  }
}

/**
 * Zero each element with probability `p` and scale the rest by 1/(1-p) in training; identity
 * otherwise. @example dropout(att, 0.2, this.training)
 */
export function dropout(x: Tensor, p = 0.5, training = true): Tensor {
  if (!(p >= 0 && p <= 1)) throw new Error(`dropout: p must be in [0, 1], got ${p}`);
  if (!training || p === 0) return x;
  if (p === 1) return x.mul(0);
  return fusedDropout(x, p);
}
