import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { getDefaultDevice, type Device } from '@llmts/tensor';
import { loadCheckpoint } from '@llmts/nn';
import { loadTokenizer, type Tokenizer } from '@llmts/data';
import { GPT } from './model.ts';
import { makeConfig, type GPTConfig } from './config.ts';

/** A checkpoint directory, or a training output directory holding best/ (preferred) or last/. */
export function resolveModelDir(path: string): string {
  if (existsSync(join(path, 'model.safetensors')) || existsSync(`${path}.previous`)) return path;
  for (const sub of ['best', 'last']) if (existsSync(join(path, sub, 'model.safetensors')) || existsSync(join(path, `${sub}.previous`))) return join(path, sub);
  if (!existsSync(path)) throw new Error(`checkpoint '${path}' does not exist`);
  throw new Error(`checkpoint '${path}': no model.safetensors in it or in best/ or last/ (is it a training output directory?)`);
}

/**
 * Load a trained GPT and its tokenizer.
 * @example const { model, tokenizer } = loadGPT('runs/shakespeare', { device: 'gpu' });
 */
export function loadGPT(path: string, options: { device?: Device } = {}): { model: GPT; tokenizer: Tokenizer; config: GPTConfig; dir: string } {
  const dir = resolveModelDir(path);
  const device = options.device ?? getDefaultDevice();
  const ck = loadCheckpoint(dir, { device, optimizer: false });
  let model: GPT | null = null;
  try {
    const configFile = join(ck.dir, 'config.json');
    let config: GPTConfig;
    try {
      config = makeConfig((ck.config.model ?? ck.config) as Partial<GPTConfig>);
    } catch (e) {
      throw new Error(`${configFile}: ${(e as Error).message}`);
    }
    const tokenizer = checkpointTokenizer(ck.dir, config.vocabSize);
    model = new GPT(config, { device, init: false });
    model.loadStateDict(ck.modelState);
    model.eval();
    return { model, tokenizer, config: model.config, dir: ck.dir };
  } catch (e) {
    model?.dispose();
    throw e;
  } finally {
    for (const t of Object.values(ck.modelState)) t.dispose();
  }
}

/**
 * The tokenizer saved with a checkpoint; it must cover the model's vocabulary (exactly, or up to
 * nanoGPT's padding of the embedding to a multiple of 64).
 */
function checkpointTokenizer(dir: string, vocabSize: number): Tokenizer {
  const file = join(dir, 'tokenizer.json');
  if (!existsSync(file)) throw new Error(`checkpoint ${dir}: no tokenizer.json, so its token ids cannot be turned into text (copy the tokenizer.json of the corpus it was trained on)`);
  const tokenizer = loadTokenizer(file);
  const n = tokenizer.vocabSize;
  const padded = vocabSize > n && vocabSize % 64 === 0 && vocabSize - n < 64;
  if (n !== vocabSize && !padded) throw new Error(`${file}: the tokenizer has ${n} tokens but the model's vocabulary is ${vocabSize}`);
  return tokenizer;
}
