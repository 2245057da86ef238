import { noGrad, tidy, keep, type Tensor } from '@llmts/tensor';

/**
 * Gradient accumulation: run `microSteps` forward/backward passes, each loss scaled by
 * 1/microSteps, so the summed gradients equal those of one big batch. Returns the mean loss
 * (a 0-d tensor; intermediates of each micro-step are freed as it ends).
 * @example
 * const loss = accumulateGradients(4, (i) => model.forward(...batches[i]).loss);
 * clipGradNorm(model.parameters(), 1); opt.step(); opt.zeroGrad();
 */
export function accumulateGradients(microSteps: number, lossOf: (micro: number) => Tensor): Tensor {
  if (!Number.isInteger(microSteps) || microSteps < 1) throw new Error(`accumulateGradients: microSteps must be a positive integer, got ${microSteps}`);
  let total: Tensor | null = null;
  for (let i = 0; i < microSteps; i++) {
    const loss = tidy(() => {
      const l = lossOf(i);
      if (l.numel() !== 1) throw new Error(`accumulateGradients: the loss must be a single value, got shape [${l.shape}]`);
      l.div(microSteps).backward();
      return noGrad(() => l.detach());
    });
    const next: Tensor = noGrad(() => (total === null ? loss.div(microSteps) : total.add(loss.div(microSteps))));
    total?.dispose();
    loss.dispose();
    total = keep(next);
  }
  return total!;
}
