/**
 * Named training setups. Model shapes and hyper-parameters follow the sources they are named
 * after (nanoGPT's config/train_shakespeare_char.py and README CPU line, the freeCodeCamp course,
 * GPT-2 small); vocabSize comes from the prepared corpus.
 */
import type { GPTConfig } from './config.ts';

export interface TrainConfig {
  /** Sequences per micro-batch. */
  batchSize: number;
  /** Micro-batches whose gradients are summed per optimizer step. */
  gradAccumSteps: number;
  maxIters: number;
  /** Estimate train/val loss every this many iterations (and at the end). */
  evalInterval: number;
  /** Batches per split in each estimate. */
  evalIters: number;
  /** Print/log the training loss every this many iterations (one readback each time). */
  logInterval: number;
  learningRate: number;
  /** Floor of the cosine schedule. */
  minLr: number;
  warmupIters: number;
  lrDecayIters: number;
  /** false: constant learningRate. */
  decayLr: boolean;
  weightDecay: number;
  beta1: number;
  beta2: number;
  /** Clip the global gradient norm to this (0 = off). */
  gradClip: number;
  seed: number;
  /** Save the best checkpoint at every evaluation even when val did not improve. */
  alwaysSaveCheckpoint: boolean;
}

export interface Preset {
  name: string;
  description: string;
  model: Omit<Partial<GPTConfig>, 'vocabSize'>;
  train: TrainConfig;
}

const base: TrainConfig = {
  batchSize: 12, gradAccumSteps: 1, maxIters: 5000, evalInterval: 250, evalIters: 200, logInterval: 10,
  learningRate: 1e-3, minLr: 1e-4, warmupIters: 100, lrDecayIters: 5000, decayLr: true,
  weightDecay: 0.1, beta1: 0.9, beta2: 0.99, gradClip: 1.0, seed: 1337, alwaysSaveCheckpoint: false,
};

/** The named training setups by name (`llmts train --preset NAME`). */
export const presets: Record<string, Preset> = {
  'shakespeare-char': {
    name: 'shakespeare-char',
    description: "nanoGPT's baby GPT on Tiny Shakespeare characters (6 layers, 6 heads, 384 dims, block 256; ~10.7M params); nanoGPT reaches val 1.4697",
    model: { blockSize: 256, nLayer: 6, nHead: 6, nEmbd: 384, dropout: 0.2, bias: false, gelu: 'none' },
    train: { ...base, batchSize: 64, maxIters: 5000, lrDecayIters: 5000, evalInterval: 250, evalIters: 200, logInterval: 10 },
  },
  'shakespeare-char-cpu': {
    name: 'shakespeare-char-cpu',
    description: "nanoGPT's CPU line for Tiny Shakespeare (4 layers, 4 heads, 128 dims, block 64, batch 12, no dropout); val ~1.88 after 2000 iters",
    model: { blockSize: 64, nLayer: 4, nHead: 4, nEmbd: 128, dropout: 0, bias: false, gelu: 'none' },
    train: { ...base, batchSize: 12, maxIters: 2000, lrDecayIters: 2000, evalInterval: 250, evalIters: 20, logInterval: 10 },
  },
  'wizard-of-oz-char': {
    name: 'wizard-of-oz-char',
    description: 'the freeCodeCamp course GPT on The Wonderful Wizard of Oz characters (post-norm, 4 layers, 4 heads, 384 dims, block 128, batch 32, lr 3e-4)',
    model: { blockSize: 128, nLayer: 4, nHead: 4, nEmbd: 384, dropout: 0.2, bias: true, normPlacement: 'post', gelu: 'none' },
    train: { ...base, batchSize: 32, maxIters: 3000, lrDecayIters: 3000, learningRate: 3e-4, minLr: 3e-5, warmupIters: 100, evalInterval: 250, evalIters: 100, beta2: 0.999, weightDecay: 0.01 },
  },
  'gpt2-124m': {
    name: 'gpt2-124m',
    description: 'GPT-2 small (12 layers, 12 heads, 768 dims, block 1024; 124M params) for BPE corpora, nanoGPT OpenWebText hyper-parameters',
    model: { blockSize: 1024, nLayer: 12, nHead: 12, nEmbd: 768, dropout: 0, bias: true },
    train: { ...base, batchSize: 8, gradAccumSteps: 8, maxIters: 600000, lrDecayIters: 600000, learningRate: 6e-4, minLr: 6e-5, warmupIters: 2000, evalInterval: 1000, evalIters: 100, beta2: 0.95 },
  },
};

/** A preset by name; an unknown name is an error listing the valid ones. @example getPreset('shakespeare-char') */
export function getPreset(name: string): Preset {
  const p = presets[name];
  if (p === undefined) throw new Error(`unknown preset '${name}' (valid: ${Object.keys(presets).join(', ')})`);
  return p;
}
