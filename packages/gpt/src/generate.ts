/**
 * Autoregressive generation (nanoGPT's `generate`), with a KV cache: each step feeds only the new
 * token and reuses the keys and values of earlier positions. The output is the same with or
 * without the cache up to float rounding (one-row products take a kernel that sums in another
 * order), so the tokens differ only where two logits tie to ~1e-6. When the context outgrows blockSize it is cropped to the last blockSize
 * tokens (and the cache rebuilt, since learned positions shift).
 */
import { noGrad, tensor, tidy, type Tensor } from '@llmts/tensor';
import type { GPT, KVCache } from './model.ts';
import { checkSampling, sampleRows, type SamplingOptions } from './sampling.ts';
import { nextTask } from './next-task.ts';

/** Options of `generate`: sampling, how many tokens, when to stop, and a callback per token. */
export interface GenerateOptions extends SamplingOptions {
  maxNewTokens: number;
  /** Stop a sequence once it emits this token (the token is included). */
  stopToken?: number;
  /** Reuse keys/values of earlier positions (default true). */
  useCache?: boolean;
  /** Called with each new token of sequence 0 as it is chosen; return false to stop. */
  onToken?: (token: number) => void | boolean;
  /** Called after every step with each sequence's new token; return false to stop all of them. */
  onStep?: (tokens: readonly number[]) => void | boolean;
}

/** Anything that maps (B, T) ids to logits for the last position. */
export interface LanguageModel {
  forward(idx: Tensor, targets?: Tensor | null, options?: { cache?: KVCache }): { logits: Tensor };
}

/**
 * Extend each prompt by up to maxNewTokens tokens; returns the new tokens per sequence.
 * @example const [out] = await generate(model, [[0]], { maxNewTokens: 500, temperature: 0.8, topK: 200 });
 */
export async function generate(model: GPT, prompts: readonly (readonly number[])[], o: GenerateOptions): Promise<number[][]> {
  checkSampling(o);
  if (prompts.length === 0 || prompts.some((p) => p.length === 0)) throw new Error('generate: every prompt needs at least one token');
  const L = prompts[0]!.length;
  if (prompts.some((p) => p.length !== L)) throw new Error('generate: prompts of one batch must have the same length');
  const { blockSize, vocabSize } = model.config;
  for (const p of prompts) for (const id of p) if (!(Number.isInteger(id) && id >= 0 && id < vocabSize)) throw new Error(`generate: token ${id} is outside the vocabulary of ${vocabSize}`);
  const device = model.device;
  const wasTraining = model.training;
  model.eval();
  const seqs = prompts.map((p) => [...p]);
  const fresh: number[][] = prompts.map(() => []);
  const done = prompts.map(() => false);
  const useCache = o.useCache ?? true;
  let cache: KVCache | null = null;
  try {
    for (let step = 0; step < o.maxNewTokens && done.some((d) => !d); step++) {
      const total = seqs[0]!.length;
      let feed: number[][];
      if (useCache && cache !== null && total <= blockSize) feed = seqs.map((s) => s.slice(-1));
      else {
        cache?.dispose();
        cache = useCache ? model.newCache() : null;
        feed = seqs.map((s) => s.slice(-blockSize));
      }
      const T = feed[0]!.length;
      const logits = tidy(() => noGrad(() => {
        const idx = tensor(feed.flat(), { dtype: 'int32', device, shape: [feed.length, T] });
        return model.forward(idx, null, { cache: cache ?? undefined }).logits; // (B, 1, V)
      }));
      const values = await logits.data();
      logits.dispose();
      const next = sampleRows(values, seqs.length, o);
      let stop = false;
      next.forEach((tok, b) => {
        seqs[b]!.push(tok); // finished rows keep growing so the batch stays rectangular
        if (done[b]) return;
        fresh[b]!.push(tok);
        if (o.stopToken !== undefined && tok === o.stopToken) done[b] = true;
        if (b === 0 && o.onToken?.(tok) === false) stop = true;
      });
      if (o.onStep?.(next) === false) stop = true;
      if (stop) break;
      await nextTask(); // let I/O run between tokens (a closed pipe, a stop button, a streamed reply)
    }
  } finally {
    cache?.dispose();
    if (wasTraining) model.train();
  }
  return fresh;
}
