/**
 * Finding and loading GPT checkpoints: this project's (a Hugging Face GPT-2 directory plus
 * training state), Hugging Face GPT-2 directories (single or sharded safetensors), and the older
 * llm.ts layout. Weights stream into a model built without drawing initial values.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { getDefaultDevice, type Device } from '@llmts/tensor';
import { loadCheckpoint, readJsonFile, resolveCheckpointDir, type QuantizeReport } from '@llmts/nn';
import { gpt2Tokenizer, loadTokenizer, type Tokenizer } from '@llmts/data';
import { GPT } from './model.ts';
import type { GPTConfig } from './config.ts';
import { fromHFConfig, isLegacyConfig } from './hf/config.ts';
import { loadHFWeights } from './hf/weights.ts';

const hasWeights = (dir: string) => existsSync(join(dir, 'model.safetensors')) || existsSync(join(dir, 'model.safetensors.index.json')) || existsSync(`${dir}.previous`);

/** A checkpoint directory, or a training output directory holding best/ (preferred) or last/. */
export function resolveModelDir(path: string): string {
  if (hasWeights(path)) return path;
  for (const sub of ['best', 'last']) if (hasWeights(join(path, sub))) return join(path, sub);
  if (!existsSync(path)) throw new Error(`checkpoint '${path}' does not exist`);
  throw new Error(`checkpoint '${path}': no model.safetensors (or model.safetensors.index.json) in it or in best/ or last/ (is it a training output directory?)`);
}

/** What `loadGPT` returns: the model (in eval mode), its tokenizer and where it came from. */
export interface LoadedGPT {
  model: GPT;
  tokenizer: Tokenizer;
  config: GPTConfig;
  dir: string;
  /** What quantization replaced, when asked for. */
  quantized?: QuantizeReport;
}

/** Options of `loadGPT`. */
export interface LoadGPTOptions {
  device?: Device;
  /** Quantize the Linear layers and token embedding at load time (inference only). */
  quantize?: 'int8' | 'int4';
}

/**
 * Load a GPT and its tokenizer from a checkpoint: a directory made here, a Hugging Face GPT-2
 * directory, or a training output directory (its best/ checkpoint). Only the parameters stay live.
 * @example const { model, tokenizer } = loadGPT('runs/shakespeare', { device: 'gpu' });
 */
export function loadGPT(path: string, options: LoadGPTOptions = {}): LoadedGPT {
  const dir = resolveCheckpointDir(resolveModelDir(path));
  const target = options.device ?? getDefaultDevice();
  if (options.quantize !== undefined && options.quantize !== 'int8' && options.quantize !== 'int4') throw new Error(`loadGPT: quantize must be 'int8' or 'int4', got '${String(options.quantize)}'`);
  // quantization reads the float weights on the host, then places the packed ones on the target
  const device = options.quantize ? 'cpu' : target;
  const configFile = join(dir, 'config.json');
  const raw = readJsonFile(configFile);
  const config = fromHFConfig(raw, configFile);
  const tokenizer = checkpointTokenizer(dir, config.vocabSize, raw);
  const model = new GPT(config, { device, init: false });
  try {
    if (isLegacyConfig(raw)) loadLegacyWeights(model, dir, device);
    else loadHFWeights(model, dir);
  } catch (e) {
    model.dispose();
    throw e;
  }
  model.eval();
  if (!options.quantize) return { model, tokenizer, config: model.config, dir };
  const quantized = model.quantize(options.quantize === 'int8' ? 8 : 4, target);
  return { model, tokenizer, config: model.config, dir, quantized };
}

/** An llm.ts checkpoint from before the Hugging Face layout: our names and [out, in] weights. */
function loadLegacyWeights(model: GPT, dir: string, device: Device): void {
  const ck = loadCheckpoint(dir, { device, optimizer: false });
  try {
    model.loadStateDict(ck.modelState);
  } finally {
    for (const t of Object.values(ck.modelState)) t.dispose();
  }
}

/**
 * The tokenizer of a checkpoint: its tokenizer.json, Hugging Face's vocab.json + merges.txt, or,
 * for a Hugging Face GPT-2 config with GPT-2's vocabulary and no tokenizer files, GPT-2's own.
 * It must cover the model's vocabulary (exactly, or up to nanoGPT's padding to a multiple of 64).
 */
export function checkpointTokenizer(dir: string, vocabSize: number, config: Record<string, unknown>): Tokenizer {
  const file = join(dir, 'tokenizer.json');
  let tokenizer: Tokenizer;
  let source = file;
  if (existsSync(file)) tokenizer = loadTokenizer(file);
  else if (existsSync(join(dir, 'vocab.json')) && existsSync(join(dir, 'merges.txt'))) {
    source = join(dir, 'vocab.json');
    tokenizer = gpt2Tokenizer({ encoder: source, merges: join(dir, 'merges.txt') });
  } else if (config.model_type === 'gpt2' && !isLegacyConfig(config) && config.llmts === undefined && (vocabSize === 50257 || vocabSize === 50304)) {
    tokenizer = gpt2Tokenizer(); // a Hugging Face GPT-2 directory that relies on the hub's tokenizer
    source = `${dir} (GPT-2's tokenizer)`;
  } else {
    throw new Error(`checkpoint ${dir}: no tokenizer.json, so its token ids cannot be turned into text (copy the tokenizer.json of the corpus it was trained on)`);
  }
  if (!vocabularyCovers(vocabSize, tokenizer.vocabSize)) throw new Error(`${source}: the tokenizer has ${tokenizer.vocabSize} tokens but the model's vocabulary is ${vocabSize}`);
  return tokenizer;
}

/** Whether a model's vocabulary fits `tokens` ids: exactly, or padded to a multiple of 64 as nanoGPT does. */
export function vocabularyCovers(modelVocab: number, tokens: number): boolean {
  return modelVocab === tokens || (modelVocab > tokens && modelVocab % 64 === 0 && modelVocab - tokens < 64);
}
