import type { GPTConfig, Preset, TrainConfig } from '@llmts/gpt';

/** A very small training setup for tests (seconds on the CPU); change what a test needs. */
export function tinyPreset(name: string, model: Omit<Partial<GPTConfig>, 'vocabSize'> = {}, train: Partial<TrainConfig> = {}): Preset {
  return {
    name,
    description: 'a very small model for tests',
    model: { blockSize: 16, nLayer: 1, nHead: 2, nEmbd: 16, dropout: 0, bias: true, ...model },
    train: {
      batchSize: 4, gradAccumSteps: 1, maxIters: 8, evalInterval: 4, evalIters: 1, logInterval: 2, learningRate: 3e-3, minLr: 3e-4,
      warmupIters: 1, lrDecayIters: 8, decayLr: true, weightDecay: 0.1, beta1: 0.9, beta2: 0.99, gradClip: 1, seed: 5, alwaysSaveCheckpoint: false,
      ...train,
    },
  };
}
