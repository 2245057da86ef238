/**
 * Log-likelihoods of continuations under a GPT, the primitive of harness-style evaluation: for a
 * context and a continuation (token ids), the sum of log p(token | everything before it) over the
 * continuation's tokens. Requests go through the model in batches padded on the right; a request
 * longer than the context keeps its last tokens (the continuation must fit).
 */
import { crossEntropy, noGrad, tensor, tidy } from '@llmts/tensor';
import type { GPT } from '../model.ts';

/** One request: the continuation's tokens follow the context's. */
export interface LoglikRequest {
  context: readonly number[];
  continuation: readonly number[];
}

/** Anything that scores requests; the GPT one is `gptScorer`, tests bring their own. */
export type LoglikScorer = (requests: readonly LoglikRequest[]) => Promise<number[]>;

/**
 * A scorer backed by `model` (in eval mode, without gradients), `batchSize` requests per forward.
 * @example const ll = await gptScorer(model)([{ context: [1, 2], continuation: [3] }]); // [log p(3 | 1 2)]
 */
export function gptScorer(model: GPT, options: { batchSize?: number } = {}): LoglikScorer {
  const batchSize = options.batchSize ?? 8;
  const { blockSize, vocabSize } = model.config;
  return async (requests) => {
    const out: number[] = [];
    model.eval();
    for (let i = 0; i < requests.length; i += batchSize) {
      const batch = requests.slice(i, i + batchSize).map((r, k) => window(r, blockSize, vocabSize, i + k));
      const T = Math.max(...batch.map((b) => b.inputs.length));
      const inputs = new Int32Array(batch.length * T);
      const targets = new Int32Array(batch.length * T).fill(-100);
      batch.forEach((b, r) => {
        inputs.set(b.inputs, r * T);
        // only the continuation's positions count
        for (let j = b.from; j < b.inputs.length; j++) targets[r * T + j] = b.targets[j]!;
      });
      const nll = tidy(() => noGrad(() => {
        const x = tensor(inputs, { dtype: 'int32', device: model.device, shape: [batch.length, T] });
        const y = tensor(targets, { dtype: 'int32', device: model.device, shape: [batch.length, T] });
        const { logits } = model.forward(x, null, { allLogits: true }); // (B, T, V)
        return crossEntropy(logits.view(batch.length * T, vocabSize), y.reshape(batch.length * T), { reduction: 'none' }).view(batch.length, T).sum(1);
      }));
      const values = await nll.data();
      nll.dispose();
      for (const v of values) out.push(-v);
    }
    return out;
  };
}

/** The model's input and targets for a request, cropped on the left to the context length. */
function window(r: LoglikRequest, blockSize: number, vocabSize: number, index: number): { inputs: number[]; targets: number[]; from: number } {
  if (r.continuation.length === 0) throw new Error(`loglikelihood: request ${index} has an empty continuation`);
  if (r.context.length === 0) throw new Error(`loglikelihood: request ${index} has an empty context (the first token has nothing to be predicted from)`);
  if (r.continuation.length > blockSize) throw new Error(`loglikelihood: request ${index}'s continuation of ${r.continuation.length} tokens exceeds the context of ${blockSize}`);
  const all = [...r.context, ...r.continuation];
  for (const id of all) if (!(Number.isInteger(id) && id >= 0 && id < vocabSize)) throw new Error(`loglikelihood: request ${index} has token ${id}, outside the vocabulary of ${vocabSize}`);
  const start = Math.max(0, all.length - 1 - blockSize);
  const inputs = all.slice(start, all.length - 1);
  const targets = all.slice(start + 1);
  return { inputs, targets, from: inputs.length - r.continuation.length };
}
