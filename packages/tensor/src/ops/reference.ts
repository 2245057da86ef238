/**
 * Reference compositions of softmax, logSoftmax, layerNorm, gelu and crossEntropy from primitives
 * (their gradients come from the primitives' vjps). The fused kernels that the public ops use are
 * tested against these.
 */
import { isFloat } from '../dtype.ts';
import { fmt, normalizeDim } from '../shape.ts';
import type { Tensor } from '../tensor.ts';
import { where } from './binary.ts';
import { noGrad } from '../autograd/mode.ts';

/**
 * exp(x) / sum(exp(x)) along `dim`, computed stably (the max is subtracted first).
 * @example softmax(att, -1)
 */
export function softmax(x: Tensor, dim: number): Tensor {
  const d = normalizeDim('softmax', dim, x.ndim);
  const xf = isFloat(x.dtype) ? x : x.to('float32');
  const shifted = xf.sub(noGrad(() => xf.amax(d, true)));
  const e = shifted.exp();
  return e.div(e.sum(d, true));
}

/** log(softmax(x)) along `dim`, stable for large logits. */
export function logSoftmax(x: Tensor, dim: number): Tensor {
  const d = normalizeDim('logSoftmax', dim, x.ndim);
  const xf = isFloat(x.dtype) ? x : x.to('float32');
  const shifted = xf.sub(noGrad(() => xf.amax(d, true)));
  return shifted.sub(shifted.exp().sum(d, true).log());
}

export interface CrossEntropyOptions {
  /** Targets equal to this class index contribute nothing (and are left out of the mean). */
  ignoreIndex?: number;
  reduction?: 'mean' | 'sum' | 'none';
  /** Mix the one-hot target with the uniform distribution (0 = off). */
  labelSmoothing?: number;
}

/**
 * Cross-entropy between logits and targets, as `F.cross_entropy`: logits [N, C] (or [C], or
 * [N, C, d1, …]) with int32 class indices [N] (or [N, d1, …]), or float class probabilities of the
 * logits' shape.
 * @example crossEntropy(logits.view(B * T, C), targets.view(B * T))
 */
export function crossEntropy(logits: Tensor, targets: Tensor, options: CrossEntropyOptions = {}): Tensor {
  const { ignoreIndex = -100, reduction = 'mean', labelSmoothing = 0 } = options;
  if (!isFloat(logits.dtype)) throw new Error(`crossEntropy: logits must be floating point, got ${logits.dtype}`);
  if (logits.ndim === 0) throw new Error('crossEntropy: logits must have a class dim, got a 0-d tensor');
  if (labelSmoothing < 0 || labelSmoothing > 1) throw new Error(`crossEntropy: labelSmoothing must be in [0, 1], got ${labelSmoothing}`);
  const classDim = logits.ndim === 1 ? 0 : 1;
  const C = logits.shape[classDim]!;
  const logp = logSoftmax(logits, classDim);
  if (isFloat(targets.dtype)) {
    if (targets.shape.length !== logits.shape.length || targets.shape.some((s, i) => s !== logits.shape[i])) {
      throw new Error(`crossEntropy: probability targets must have the logits' shape ${fmt(logits.shape)}, got ${fmt(targets.shape)}`);
    }
    const probs = labelSmoothing > 0 ? targets.mul(1 - labelSmoothing).add(labelSmoothing / C) : targets;
    const losses = logp.mul(probs).sum(classDim).neg();
    return reduction === 'none' ? losses : reduction === 'sum' ? losses.sum() : losses.mean();
  }
  if (targets.dtype !== 'int32') throw new Error(`crossEntropy: class targets must be int32, got ${targets.dtype}`);
  const expected = logits.shape.filter((_, i) => i !== classDim);
  if (targets.shape.length !== expected.length || targets.shape.some((s, i) => s !== expected[i])) {
    throw new Error(`crossEntropy: targets of shape ${fmt(targets.shape)} do not match logits ${fmt(logits.shape)} (expected ${fmt(expected)})`);
  }
  const valid = targets.ne(ignoreIndex);
  const safeTargets = where(valid, targets, 0);
  let picked = logp.gather(classDim, safeTargets.unsqueeze(classDim)).squeeze(classDim);
  if (labelSmoothing > 0) {
    picked = picked.mul(1 - labelSmoothing).add(logp.mean(classDim).mul(labelSmoothing));
  }
  const losses = where(valid, picked.neg(), 0);
  if (reduction === 'none') return losses;
  if (reduction === 'sum') return losses.sum();
  return losses.sum().div(valid.sum().to(logits.dtype));
}

/**
 * Layer normalization over the trailing `normalizedShape` dims, then `weight`/`bias` if given.
 * @example layerNorm(x, [C], ln.weight, ln.bias)
 */
export function layerNorm(x: Tensor, normalizedShape: number | readonly number[], weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  const shape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
  const tail = x.shape.slice(x.ndim - shape.length);
  if (shape.length > x.ndim || tail.some((s, i) => s !== shape[i])) {
    throw new Error(`layerNorm: normalizedShape ${fmt(shape)} does not match the trailing dims of input ${fmt(x.shape)}`);
  }
  for (const [name, p] of [['weight', weight], ['bias', bias]] as const) {
    if (p && (p.ndim !== shape.length || p.shape.some((s, i) => s !== shape[i]))) {
      throw new Error(`layerNorm: ${name} of shape ${fmt(p.shape)} must have normalizedShape ${fmt(shape)}`);
    }
  }
  const dims = shape.map((_, i) => x.ndim - shape.length + i);
  const mu = x.mean(dims, true);
  const centered = x.sub(mu);
  const variance = centered.mul(centered).mean(dims, true);
  let y = centered.mul(variance.add(eps).rsqrt());
  if (weight) y = y.mul(weight);
  if (bias) y = y.add(bias);
  return y;
}

/**
 * GELU: exact `x·Φ(x)` (erf) by default, or the tanh approximation GPT-2 used.
 * @example gelu(x, { approximate: 'tanh' })
 */
export function gelu(x: Tensor, options: { approximate?: 'none' | 'tanh' } = {}): Tensor {
  const approximate = options.approximate ?? 'none';
  if (approximate === 'tanh') {
    const inner = x.add(x.mul(x).mul(x).mul(0.044715)).mul(Math.sqrt(2 / Math.PI));
    return x.mul(0.5).mul(inner.tanh().add(1));
  }
  if (approximate !== 'none') throw new Error(`gelu: approximate must be 'none' or 'tanh', got '${approximate}'`);
  return x.mul(0.5).mul(x.mul(Math.SQRT1_2).erf().add(1));
}
