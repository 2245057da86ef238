/**
 * Finding and loading GPT checkpoints: this project's (a Hugging Face GPT-2 directory plus
 * training state), Hugging Face GPT-2 directories (single or sharded safetensors), and the older
 * llm.ts layout. Weights stream into a model built without drawing initial values.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { getDefaultDevice, type Device } from '@llmts/tensor';
import { loadCheckpoint, readJsonFile, resolveCheckpointDir, type QuantizeReport } from '@llmts/nn';
import { gpt2Tokenizer, loadTokenizer, type Tokenizer } from '@llmts/data';
import { GPT } from './model.ts';
import type { GPTConfig } from './config.ts';
import { chatTemplateOf, fromHFConfig, isLegacyConfig, refuseClassifierConfig, usesGPT2Tokenizer } from './hf/config.ts';
import { loadHFWeights } from './hf/load-weights.ts';
import type { ChatTemplate } from './hf/export.ts';
import { isAdapterDir, loadAdapter, mergeAdapters, readAdapterConfig } from './finetune/lora.ts';
import { loadGPTFromFiles, vocabularyCovers } from './hf/checkpoint-bytes.ts';

export { vocabularyCovers } from './hf/checkpoint-bytes.ts';

const hasWeights = (dir: string) => ['model.safetensors', 'model.safetensors.index.json', 'adapter_model.safetensors'].some((f) => existsSync(join(dir, f))) || existsSync(`${dir}.previous`);

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
  /** The prompt format the model was instruction-tuned on, when its config.json records one. */
  chatTemplate?: ChatTemplate;
  /** For a LoRA adapter directory: the base checkpoint and the adapted layers. */
  adapter?: { base: string; layers: string[]; rank: number; alpha: number };
}

/** Options of `loadGPT`. */
export interface LoadGPTOptions {
  device?: Device;
  /** Quantize the Linear layers and token embedding at load time (inference only; adapters are merged first). */
  quantize?: 'int8' | 'int4';
  /** Dropout for further training (default: the checkpoint's). */
  dropout?: number;
}

/**
 * Load a GPT and its tokenizer from a checkpoint: a directory made here, a Hugging Face GPT-2
 * directory, or a training output directory (its best/ checkpoint). Only the parameters stay live.
 * @example const { model, tokenizer } = loadGPT('runs/shakespeare', { device: 'gpu' });
 */
export function loadGPT(path: string, options: LoadGPTOptions = {}): LoadedGPT {
  const target = options.device ?? getDefaultDevice();
  if (options.quantize !== undefined && options.quantize !== 'int8' && options.quantize !== 'int4') throw new Error(`loadGPT: quantize must be 'int8' or 'int4', got '${String(options.quantize)}'`);
  // quantization reads the float weights on the host, then places the packed ones on the target
  const device = options.quantize ? 'cpu' : target;
  const loaded = isTarFile(path) ? loadTar(path, device, options) : loadDir(resolveCheckpointDir(resolveModelDir(path)), device, options);
  loaded.model.eval();
  if (!options.quantize) return loaded;
  if (loaded.adapter) mergeAdapters(loaded.model);
  const quantized = loaded.model.quantize(options.quantize === 'int8' ? 8 : 4, target);
  return { ...loaded, quantized };
}

function loadDir(dir: string, device: Device, options: LoadGPTOptions): LoadedGPT {
  return isAdapterDir(dir) ? loadAdapted(dir, device, options) : loadFull(dir, device, options);
}

const isTarFile = (path: string) => path.endsWith('.tar') && existsSync(path) && statSync(path).isFile();

/** A checkpoint saved as one tar (the browser demo's download): read in memory, as the page does. */
function loadTar(path: string, device: Device, options: LoadGPTOptions): LoadedGPT {
  const loaded = loadGPTFromFiles(new Map([[basename(path), readFileSync(path)]]), { device, where: path, ...(options.dropout !== undefined ? { dropout: options.dropout } : {}) });
  return { ...loaded, dir: path };
}

function loadFull(dir: string, device: Device, options: LoadGPTOptions): LoadedGPT {
  const configFile = join(dir, 'config.json');
  const raw = readJsonFile(configFile);
  refuseClassifierConfig(raw, configFile, '; use llmts classify');
  const config = fromHFConfig(raw, configFile);
  if (options.dropout !== undefined) config.dropout = options.dropout;
  const tokenizer = checkpointTokenizer(dir, config.vocabSize, raw);
  const model = new GPT(config, { device, init: false });
  try {
    if (isLegacyConfig(raw)) loadLegacyWeights(model, dir, device);
    else loadHFWeights(model, dir);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return { model, tokenizer, config: model.config, dir, ...chatTemplateOf(raw) };
}

/** A LoRA adapter directory: its base checkpoint with the adapters on (the adapter's own tokenizer files win). */
function loadAdapted(dir: string, device: Device, options: LoadGPTOptions): LoadedGPT {
  const ac = readAdapterConfig(dir);
  if (ac.taskType !== 'CAUSAL_LM') throw new Error(`${join(dir, 'adapter_config.json')}: task_type ${ac.taskType} is not a language model adapter (a classifier: use llmts classify)`);
  const base = loadFull(resolveCheckpointDir(resolveModelDir(ac.base)), device, options);
  try {
    const report = loadAdapter(base.model, dir, ac);
    const own = existsSync(join(dir, 'tokenizer.json')) ? checkpointTokenizer(dir, base.config.vocabSize, {}) : base.tokenizer;
    const template = existsSync(join(dir, 'config.json')) ? chatTemplateOf(readJsonFile(join(dir, 'config.json'))) : {};
    return { model: base.model, tokenizer: own, config: base.config, dir, ...template, adapter: { base: base.dir, layers: report.layers, rank: ac.rank, alpha: ac.alpha } };
  } catch (e) {
    base.model.dispose();
    throw e;
  }
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
  } else if (usesGPT2Tokenizer(config)) {
    tokenizer = gpt2Tokenizer(); // a Hugging Face GPT-2 directory that relies on the hub's tokenizer
    source = `${dir} (GPT-2's tokenizer)`;
  } else {
    throw new Error(`checkpoint ${dir}: no tokenizer.json, so its token ids cannot be turned into text (copy the tokenizer.json of the corpus it was trained on)`);
  }
  if (!vocabularyCovers(vocabSize, tokenizer.vocabSize)) throw new Error(`${source}: the tokenizer has ${tokenizer.vocabSize} tokens but the model's vocabulary is ${vocabSize}`);
  return tokenizer;
}
