import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { getDefaultDevice, type Device } from '@llmts/tensor';
import { loadCheckpoint } from '@llmts/nn';
import { loadTokenizer, tokenizerFromJSON, type Tokenizer, type TokenizerJSON } from '@llmts/data';
import { GPT } from './model.ts';
import type { GPTConfig } from './config.ts';

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
  const config = (ck.config.model ?? ck.config) as GPTConfig;
  const model = new GPT(config, { device });
  try {
    model.loadStateDict(ck.modelState);
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    for (const t of Object.values(ck.modelState)) t.dispose();
  }
  model.eval();
  const tokPath = join(ck.dir, 'tokenizer.json');
  const tokenizer = existsSync(tokPath) ? loadTokenizer(tokPath) : tokenizerFromJSON((ck.config.tokenizer ?? { type: 'gpt2' }) as TokenizerJSON);
  return { model, tokenizer, config: model.config, dir: ck.dir };
}
