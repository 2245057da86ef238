/**
 * GPT weights in Hugging Face GPT-2's layout: the same names as ours (nanoGPT kept them), but the
 * projections are Conv1D modules stored [in, out] where our Linear is [out, in], a tied lm_head is
 * not stored, and every layer has biases. Loading streams tensor by tensor (one tensor's bytes in
 * memory besides the parameters), from model.safetensors or the shards of
 * model.safetensors.index.json; names without the "transformer." prefix and the attention-mask
 * buffers of older exports are understood. This file reads opened safetensors (files or bytes);
 * load-weights.ts finds a directory's files.
 */
import { tidy, zeros, type SafetensorsReader, type Tensor } from '@llmts/tensor';
import { fromArray } from '@llmts/tensor/internal';
import type { Module } from '@llmts/nn';
import type { GPTConfig } from '../config.ts';

/**
 * A model stored in GPT-2's layout: the language model (transformer + lm_head) or a sequence
 * classifier (transformer + score), both with the GPT's config.
 */
export type HFLayoutModel = Module & { readonly config: GPTConfig };

const CONV1D = /\.(attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)\.weight$/;
/** Buffers older transformers versions saved (the causal mask), not weights. */
const BUFFERS = /\.attn\.(bias|masked_bias)$/;

/** Bias names of one block and the final norm, with their sizes in units of nEmbd. */
function biasShapes(model: HFLayoutModel): Record<string, number[]> {
  const C = model.config.nEmbd;
  const out: Record<string, number[]> = { 'transformer.ln_f.bias': [C] };
  for (let i = 0; i < model.config.nLayer; i++) {
    const h = `transformer.h.${i}`;
    Object.assign(out, { [`${h}.ln_1.bias`]: [C], [`${h}.attn.c_attn.bias`]: [3 * C], [`${h}.attn.c_proj.bias`]: [C], [`${h}.ln_2.bias`]: [C], [`${h}.mlp.c_fc.bias`]: [4 * C], [`${h}.mlp.c_proj.bias`]: [C] });
  }
  return out;
}

/**
 * The tensors of `model` as Hugging Face GPT-2 names and layouts (transposed views of the
 * projections; zero biases when the model has none). `dispose` frees what was made for it.
 */
export function hfTensors(model: HFLayoutModel): { tensors: Record<string, Tensor>; dispose: () => void } {
  const tensors: Record<string, Tensor> = {};
  const made: Tensor[] = [];
  const params = model.namedParameters();
  const adapters = params.filter(([name]) => /(^|\.)lora_[AB]$/.test(name)).map(([name]) => name);
  if (adapters.length > 0) throw new Error(`hfTensors: the model has LoRA adapters (${adapters[0]}, …): merge them into the weights first (mergeLoRA, llmts export --merge-lora) or save them as an adapter`);
  const device = params[0]![1].device;
  for (const [name, p] of params) {
    const t = CONV1D.test(name) ? p.transpose(0, 1) : p;
    if (t !== p) made.push(t);
    tensors[name] = t;
  }
  if (!model.config.bias) {
    for (const [name, shape] of Object.entries(biasShapes(model))) {
      const z = zeros(shape, { device });
      made.push(z);
      tensors[name] = z;
    }
  }
  return { tensors, dispose: () => { for (const t of made) t.dispose(); } };
}

/** Our name for a Hugging Face tensor name (older files drop the "transformer." prefix). */
function ourName(name: string): string {
  return /^(transformer|lm_head|score)\./.test(name) ? name : `transformer.${name}`;
}

/**
 * Load a Hugging Face GPT-2 layout (this project's checkpoints too) into `model`, tensor by tensor,
 * from opened safetensors: `readers` by file, and `shards` (tensor name -> file) for a sharded
 * checkpoint (empty otherwise). Names, shapes and dtypes are checked for every tensor before any is
 * read; a wrong file is an error naming the file and the tensor. `cropPositions` lets a model with
 * a shorter context take the first rows of a longer position embedding. The readers stay open.
 */
export function loadWeightsFrom(model: HFLayoutModel, readers: ReadonlyMap<string, SafetensorsReader>, shards: ReadonlyMap<string, string>, options: { cropPositions?: boolean } = {}): void {
  const files = [...readers.keys()];
  const params = new Map(model.namedParameters());
  const zeroBiases = model.config.bias ? {} : biasShapes(model);
  const plan: { name: string; ours: string; reader: SafetensorsReader; conv: boolean; mustBeZero: boolean }[] = [];
  const unexpected: string[] = [];
  for (const [file, reader] of readers) {
    for (const name of reader.names()) {
      if (shards.size > 0 && shards.get(name) !== file) continue; // listed under another shard
      const ours = ourName(name);
      if (BUFFERS.test(ours)) continue;
      if (ours === 'lm_head.weight' && model.config.tiedEmbeddings) continue; // the head reads wte
      const p = params.get(ours);
      if (p === undefined && !(ours in zeroBiases)) { unexpected.push(name); continue; }
      const e = reader.header.entries.get(name)!;
      const want = p ? (CONV1D.test(ours) ? [...p.shape].reverse() : [...p.shape]) : zeroBiases[ours]!;
      // a shorter context keeps the first positions (nanoGPT's crop_block_size)
      const cropped = options.cropPositions === true && ours === 'transformer.wpe.weight' && e.shape.length === 2 && e.shape[0]! >= want[0]! && e.shape[1] === want[1];
      if (!cropped && (e.shape.length !== want.length || e.shape.some((d, i) => d !== want[i]))) {
        throw new Error(`${file}: tensor '${name}' has shape [${e.shape}] but the model needs [${want}]`);
      }
      if (!['F32', 'F16', 'BF16', 'F64'].includes(e.dtype)) throw new Error(`${file}: tensor '${name}' is ${e.dtype}, but weights must be floating point`);
      plan.push({ name, ours, reader, conv: CONV1D.test(ours), mustBeZero: p === undefined });
    }
  }
  if (unexpected.length > 0) throw new Error(`${files[0]}: unexpected tensors ${unexpected.slice(0, 8).join(', ')}${unexpected.length > 8 ? ` and ${unexpected.length - 8} more` : ''} (not a GPT-2 of this shape)`);
  const found = new Set(plan.map((s) => s.ours));
  const missing = [...params.keys()].filter((n) => !found.has(n));
  if (missing.length > 0) throw new Error(`${files[0]}: missing tensors ${missing.slice(0, 8).join(', ')}${missing.length > 8 ? ` and ${missing.length - 8} more` : ''}`);
  for (const step of plan) {
    const host = step.reader.read(step.name, { finite: true });
    if (step.mustBeZero) {
      if (host.data.some((v) => v !== 0)) throw new Error(`${step.reader.path}: tensor '${step.name}' is not zero, but this model has no biases (config.json "llmts": {"bias": false})`);
      continue;
    }
    const p = params.get(step.ours)!;
    const values = step.conv ? transposed(host.data as Float32Array, host.shape[0]!, host.shape[1]!) : host.data.subarray(0, p.numel());
    tidy(() => p.setData(fromArray(values, p.shape, { dtype: p.dtype, device: p.device })));
  }
}

/** [rows, cols] row-major values as [cols, rows]. */
function transposed(data: ArrayLike<number>, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c]!;
  return out;
}
