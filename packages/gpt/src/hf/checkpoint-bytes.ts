/**
 * GPT checkpoints as bytes, with no file access: a page loads the files a user dropped or fetched
 * (config.json, model.safetensors or its shards, tokenizer.json or vocab.json + merges.txt) and
 * saves a model as the same Hugging Face GPT-2 directory, file by file or as one tar.
 */
import { SafetensorsReader, getDefaultDevice, safetensorsBytes, type Device } from '@llmts/tensor';
import { gpt2FromTables, tokenizerFromJSON, type Tokenizer, type TokenizerJSON } from '@llmts/data';
import { GPT } from '../model.ts';
import type { GPTConfig } from '../config.ts';
import { chatTemplateOf, fromHFConfig, isLegacyConfig, refuseClassifierConfig, toHFConfig, type LlmtsConfigExtras } from './config.ts';
import { hfTensors, loadWeightsFrom } from './weights.ts';
import { huggingFaceFiles, type ChatTemplate } from './files.ts';
import { tarFiles, untarFiles } from './tar.ts';

/** A checkpoint's files by base name. */
export type CheckpointFiles = ReadonlyMap<string, Uint8Array>;

/** A model loaded from bytes: the model (in eval mode), its tokenizer and config. */
export interface LoadedFromFiles {
  model: GPT;
  tokenizer: Tokenizer;
  config: GPTConfig;
  chatTemplate?: ChatTemplate;
}

/** Whether a model's vocabulary fits `tokens` ids: exactly, or padded to a multiple of 64 as nanoGPT does. */
export function vocabularyCovers(modelVocab: number, tokens: number): boolean {
  return modelVocab === tokens || (modelVocab > tokens && modelVocab % 64 === 0 && modelVocab - tokens < 64);
}

function json(files: CheckpointFiles, name: string, where: string): Record<string, unknown> {
  const bytes = files.get(name);
  if (bytes === undefined) throw new Error(`${where}: no ${name}`);
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new Error(`${where}/${name}: not valid JSON (${(e as Error).message})`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${where}/${name}: expected a JSON object`);
  return value as Record<string, unknown>;
}

/** The tokenizer of a checkpoint held in memory: tokenizer.json, or vocab.json + merges.txt. */
function tokenizerOf(files: CheckpointFiles, vocabSize: number, where: string): Tokenizer {
  let tokenizer: Tokenizer;
  let source = `${where}/tokenizer.json`;
  if (files.has('tokenizer.json')) {
    try {
      tokenizer = tokenizerFromJSON(json(files, 'tokenizer.json', where) as unknown as TokenizerJSON);
    } catch (e) {
      throw new Error(`${source}: ${(e as Error).message}`);
    }
  } else if (files.has('vocab.json') && files.has('merges.txt')) {
    source = `${where}/vocab.json`;
    tokenizer = gpt2FromTables(json(files, 'vocab.json', where) as Record<string, number>, new TextDecoder().decode(files.get('merges.txt')), { encoder: source, merges: `${where}/merges.txt` });
  } else {
    throw new Error(`${where}: no tokenizer.json (or vocab.json + merges.txt), so its token ids cannot be turned into text`);
  }
  if (!vocabularyCovers(vocabSize, tokenizer.vocabSize)) throw new Error(`${source}: the tokenizer has ${tokenizer.vocabSize} tokens but the model's vocabulary is ${vocabSize}`);
  return tokenizer;
}

/** The safetensors of a checkpoint held in memory: model.safetensors, or the shards of its index. */
function weightReaders(files: CheckpointFiles, where: string): { readers: Map<string, SafetensorsReader>; shards: Map<string, string> } {
  const shards = new Map<string, string>();
  if (files.has('model.safetensors.index.json')) {
    const map = json(files, 'model.safetensors.index.json', where).weight_map as Record<string, unknown> | undefined;
    if (map === null || typeof map !== 'object') throw new Error(`${where}/model.safetensors.index.json: 'weight_map' must be an object of tensor name to file`);
    for (const [name, file] of Object.entries(map)) {
      if (typeof file !== 'string' || file.includes('/')) throw new Error(`${where}/model.safetensors.index.json: tensor '${name}' maps to ${JSON.stringify(file)}, not a file name`);
      shards.set(name, file);
    }
  }
  const names = shards.size > 0 ? [...new Set(shards.values())] : ['model.safetensors'];
  const readers = new Map<string, SafetensorsReader>();
  try {
    for (const n of names) {
      const bytes = files.get(n);
      if (bytes === undefined) throw new Error(`${where}: no ${n}`);
      readers.set(n, SafetensorsReader.fromBytes(bytes, `${where}/${n}`));
    }
  } catch (e) {
    for (const r of readers.values()) r.close();
    throw e;
  }
  return { readers, shards };
}

/**
 * Load a GPT from a checkpoint's files held in memory (a directory made here or a Hugging Face GPT-2
 * directory; `where` names it in errors). A file ending in .tar may be passed as the only entry.
 * @example const { model, tokenizer } = loadGPTFromFiles(new Map([['config.json', c], ['model.safetensors', w], ['tokenizer.json', t]]));
 */
export function loadGPTFromFiles(given: CheckpointFiles, options: { device?: Device; where?: string; dropout?: number } = {}): LoadedFromFiles {
  const tarName = given.size === 1 ? [...given.keys()].find((n) => n.endsWith('.tar')) : undefined;
  const where = options.where ?? tarName ?? 'checkpoint';
  const files = tarName !== undefined ? untarFiles(given.get(tarName)!, tarName) : given;
  if (files.has('adapter_config.json') && !files.has('model.safetensors')) throw new Error(`${where}: a LoRA adapter needs its base model; merge it first (llmts export --merge-lora)`);
  const raw = json(files, 'config.json', where);
  refuseClassifierConfig(raw, `${where}/config.json`);
  if (isLegacyConfig(raw)) throw new Error(`${where}/config.json: an llm.ts checkpoint from before the Hugging Face layout; convert it with llmts export first`);
  const config = fromHFConfig(raw, `${where}/config.json`);
  if (options.dropout !== undefined) config.dropout = options.dropout;
  const tokenizer = tokenizerOf(files, config.vocabSize, where);
  const { readers, shards } = weightReaders(files, where);
  const model = new GPT(config, { device: options.device ?? getDefaultDevice(), init: false });
  try {
    loadWeightsFrom(model, readers, shards);
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    for (const r of readers.values()) r.close();
  }
  model.eval();
  return { model, tokenizer, config: model.config, ...chatTemplateOf(raw) };
}

/**
 * A model and its tokenizer as the files of a Hugging Face GPT-2 directory (config.json,
 * model.safetensors, tokenizer.json, tokenizer_config.json, generation_config.json): what
 * `saveGPT` writes, as bytes.
 * @example const files = await gptToFiles(model, tokenizer);
 */
export async function gptToFiles(model: GPT, tokenizer: Tokenizer, o: { extras?: LlmtsConfigExtras; chatTemplate?: ChatTemplate } = {}): Promise<Map<string, Uint8Array>> {
  const eos = tokenizer.specialId('<|endoftext|>');
  const extras = { ...(o.extras ?? {}), ...(o.chatTemplate ? { chatTemplate: o.chatTemplate } : {}) };
  const enc = new TextEncoder();
  const out = new Map<string, Uint8Array>();
  out.set('config.json', enc.encode(`${JSON.stringify(toHFConfig(model.config, extras, eos !== undefined ? { eos } : {}), null, 2)}\n`));
  const weights = hfTensors(model);
  try {
    out.set('model.safetensors', await safetensorsBytes(weights.tensors, { format: 'pt' }));
  } finally {
    weights.dispose();
  }
  for (const [name, text] of Object.entries(huggingFaceFiles(tokenizer, model.config.blockSize, o.chatTemplate))) out.set(name, enc.encode(text));
  return out;
}

/**
 * `gptToFiles` as one tar archive under `folder/` (a page's single download; `tar xf` unpacks it,
 * and `llmts sample --checkpoint file.tar` reads it directly).
 */
export async function gptToTar(model: GPT, tokenizer: Tokenizer, folder: string, o: { extras?: LlmtsConfigExtras; chatTemplate?: ChatTemplate } = {}): Promise<Uint8Array> {
  return tarFiles(await gptToFiles(model, tokenizer, o), folder);
}
