/**
 * Train/val loss estimates (nanoGPT's estimate_loss): the mean loss over a number of batches of each
 * split, in eval mode without gradients, summed on the device with one readback per split. Shared
 * by the run trainer (batches from a token dataset) and TextTrainer (batches from text in memory).
 */
import { noGrad, tidy, type Tensor } from '@llmts/tensor';
import type { GPT } from '../model.ts';

export type Split = 'train' | 'val';

/** Mean loss over `iters` batches of each of `splits` (the model back in train mode after). */
export async function meanLosses(model: GPT, batch: (split: Split) => { x: Tensor; y: Tensor }, iters: number, splits: readonly Split[] = ['train', 'val']): Promise<Partial<Record<Split, number>>> {
  const out: Partial<Record<Split, number>> = {};
  model.eval();
  try {
    for (const split of splits) {
      let total: Tensor | null = null;
      for (let k = 0; k < iters; k++) {
        const next: Tensor = tidy(() => noGrad(() => {
          const { x, y } = batch(split);
          const loss = model.forward(x, y).loss!;
          return total === null ? loss : total.add(loss);
        }));
        total?.dispose();
        total = next;
      }
      out[split] = (await total!.item()) / iters;
      total!.dispose();
    }
  } finally {
    model.train();
  }
  return out;
}
