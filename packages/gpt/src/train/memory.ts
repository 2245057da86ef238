/**
 * How much memory a training step needs, estimated before the first one runs, so a configuration
 * that cannot fit is refused with the reason instead of crawling or dying half-way. The figures
 * are what this implementation keeps alive at the peak of a step (parameters, AdamW's two
 * moments, gradients, and the activations saved for backward, per layer and for the logits),
 * measured on the CPU backend and checked by a test against `memoryStats().peakBytes`.
 */
import type { GPTConfig } from '../config.ts';

/** float32 values saved per token per layer: `perWidth`·C + `perScore`·H·T (attention scores). */
const SAVED = { plain: { perWidth: 21, perScore: 4.5 }, dropout: { perWidth: 30, perScore: 7.5 } };
/** float32 values per token for the logits and their gradient. */
const PER_LOGIT = 2;

export interface MemoryEstimate {
  /** Bytes alive at the peak of a step. */
  bytes: number;
  /** Parameters, AdamW state and gradients. */
  stateBytes: number;
  /** Activations saved for backward, logits included. */
  activationBytes: number;
  /** The largest single tensor of a step (logits or attention scores), in bytes. */
  largestTensorBytes: number;
}

/** The memory one training step of `config` at `batchSize` sequences needs (float32). */
export function estimateTrainingMemory(config: GPTConfig, batchSize: number): MemoryEstimate {
  const { vocabSize: V, blockSize: T, nLayer: L, nHead: H, nEmbd: C } = config;
  const params = V * C * (config.tiedEmbeddings ? 1 : 2) + T * C + L * (12 * C * C + (config.bias ? 13 : 4) * C) + 2 * C;
  const s = config.dropout > 0 ? SAVED.dropout : SAVED.plain;
  const tokens = batchSize * T;
  const activations = 4 * (L * tokens * (s.perWidth * C + s.perScore * H * T) + tokens * V * PER_LOGIT);
  const state = 4 * params * 4; // weights, two AdamW moments, gradients
  return { bytes: state + activations, stateBytes: state, activationBytes: activations, largestTensorBytes: 4 * Math.max(tokens * V, batchSize * H * T * T, tokens * 4 * C) };
}

/** The largest batch size whose estimate stays within `budgetBytes` (0 when even 1 does not fit). */
export function largestBatchSize(config: GPTConfig, budgetBytes: number): number {
  const one = estimateTrainingMemory(config, 1);
  const perSequence = one.activationBytes;
  return Math.max(0, Math.floor((budgetBytes - one.stateBytes) / perSequence));
}
