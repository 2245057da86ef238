/**
 * Perplexity of a text under a GPT with a sliding window, as Hugging Face's perplexity guide: the
 * text's tokens are read in windows of the context length moving by `stride`, and each window
 * scores only the tokens the previous one did not, so every token after the first is predicted once
 * with up to a context of earlier tokens. Also bits per byte, which compares across tokenizers.
 */
import { crossEntropy, noGrad, tensor, tidy } from '@llmts/tensor';
import type { GPT } from '../model.ts';

/** What `perplexity` returns. */
export interface PerplexityResult {
  task: 'perplexity';
  /** Tokens predicted (all but the first). */
  tokens: number;
  /** Mean negative log-likelihood per predicted token, in nats. */
  loss: number;
  perplexity: number;
  /** Total negative log-likelihood in bits over the UTF-8 bytes of the predicted text. */
  bitsPerByte: number;
  stride: number;
  contextLength: number;
}

/**
 * Score `ids` (the text's tokens) with `model`; `bytes` is the UTF-8 length of the predicted text.
 * @example const r = await perplexity(model, tokenizer.encode(text), { bytes: Buffer.byteLength(text) });
 */
export async function perplexity(model: GPT, ids: readonly number[], o: { bytes: number; stride?: number; batchSize?: number; onProgress?: (done: number, total: number) => void }): Promise<PerplexityResult> {
  const { blockSize, vocabSize } = model.config;
  const stride = o.stride ?? Math.max(1, Math.floor(blockSize / 2));
  if (!Number.isInteger(stride) || stride < 1 || stride > blockSize) throw new Error(`perplexity: stride must be 1..${blockSize} (the context), got ${stride}`);
  if (ids.length < 2) throw new Error(`perplexity: need at least 2 tokens, got ${ids.length}`);
  for (const id of ids) if (!(Number.isInteger(id) && id >= 0 && id < vocabSize)) throw new Error(`perplexity: token ${id} is outside the vocabulary of ${vocabSize}`);
  // windows [begin, end) of inputs; targets are the next tokens; positions before `from` were scored already
  const windows: { begin: number; end: number; from: number }[] = [];
  let scoredUpTo = 0; // targets 1..scoredUpTo are done
  for (let begin = 0; scoredUpTo < ids.length - 1; begin += stride) {
    const end = Math.min(begin + blockSize, ids.length - 1);
    windows.push({ begin, end, from: scoredUpTo - begin });
    scoredUpTo = end;
  }
  model.eval();
  const batchSize = o.batchSize ?? 8;
  let nll = 0;
  for (let i = 0; i < windows.length; i += batchSize) {
    const batch = windows.slice(i, i + batchSize);
    const T = Math.max(...batch.map((w) => w.end - w.begin));
    const x = new Int32Array(batch.length * T);
    const y = new Int32Array(batch.length * T).fill(-100);
    batch.forEach((w, r) => {
      for (let j = 0; j < w.end - w.begin; j++) {
        x[r * T + j] = ids[w.begin + j]!;
        if (j >= w.from) y[r * T + j] = ids[w.begin + j + 1]!;
      }
    });
    const sum = tidy(() => noGrad(() => {
      const { logits } = model.forward(tensor(x, { dtype: 'int32', device: model.device, shape: [batch.length, T] }), null, { allLogits: true });
      return crossEntropy(logits.view(batch.length * T, vocabSize), tensor(y, { dtype: 'int32', device: model.device }), { reduction: 'sum' });
    }));
    nll += await sum.item();
    sum.dispose();
    o.onProgress?.(Math.min(i + batchSize, windows.length), windows.length);
  }
  const tokens = ids.length - 1;
  const loss = nll / tokens;
  return { task: 'perplexity', tokens, loss, perplexity: Math.exp(loss), bitsPerByte: nll / Math.LN2 / Math.max(1, o.bytes), stride, contextLength: blockSize };
}
