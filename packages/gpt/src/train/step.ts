/**
 * One optimizer step the way `llmts train` takes it: the micro-batches drawn, then forward and
 * backward over each (each frees its activations before the next), gradient-norm
 * clipping, AdamW, zeroed gradients. Shared by the trainer, `llmts tune` and the benchmarks, so
 * what they measure is what training runs.
 */
import { clipGradNorm, type Optimizer } from '@llmts/nn';
import { noGrad, tidy, type Tensor } from '@llmts/tensor';
import type { GPT } from '../model.ts';

/** What a step needs besides the model and optimizer. */
export interface StepSettings {
  /** Micro-batches whose gradients add up to one step (default 1). */
  gradAccumSteps?: number;
  /** Clip the global gradient norm to this (0 = no clipping). */
  gradClip: number;
}

/**
 * Take one step; `nextBatch` gives each micro-batch's inputs and targets (B, T). Returns the mean
 * loss over the micro-batches, detached (read it, or dispose it).
 * @example const loss = trainStep(model, optimizer, () => ds.getBatch('train', 12, 64), { gradClip: 1 });
 */
export function trainStep(model: GPT, optimizer: Optimizer<{ lr: number }>, nextBatch: () => { x: Tensor; y: Tensor }, s: StepSettings): Tensor {
  const micro = s.gradAccumSteps ?? 1;
  return tidy(() => {
    // every micro-batch is drawn before the first forward, so the generator gives the batches and
    // then dropout's keys in the same order whether the step runs op by op or replays a captured
    // graph (which draws all of its keys at once)
    const batches = Array.from({ length: micro }, () => nextBatch());
    let total: Tensor | null = null;
    for (let m = 0; m < micro; m++) {
      const l = tidy(() => {
        const { x, y } = batches[m]!;
        const loss = model.forward(x, y).loss!;
        const value = loss.detach(); // its own handle: backward may dispose `loss` itself
        // activations are freed as backward passes them, as in PyTorch (only the loss is kept)
        (micro === 1 ? loss : loss.div(micro)).backward(undefined, { releaseIntermediates: true });
        return value;
      });
      total = noGrad(() => (total === null ? l : total.add(l)));
    }
    if (s.gradClip > 0) clipGradNorm(model.parameters(), s.gradClip).dispose();
    optimizer.step();
    optimizer.zeroGrad();
    return micro === 1 ? total! : noGrad(() => total!.div(micro));
  });
}
