/**
 * Writing a Hugging Face GPT-2 directory (what `llmts export` does, and what checkpoints already
 * are): config.json, model.safetensors, tokenizer.json with tokenizer_config.json, and
 * generation_config.json, so `GPT2LMHeadModel.from_pretrained(dir)` and
 * `AutoTokenizer.from_pretrained(dir)` read it. A model trained with LoRA saves as a PEFT adapter
 * directory instead (adapter_config.json + adapter_model.safetensors, the base left where it is).
 */
import { saveCheckpoint, type Optimizer } from '@llmts/nn';
import type { Tokenizer } from '@llmts/data';
import type { GPT } from '../model.ts';
import { toHFConfig, type LlmtsConfigExtras } from './config.ts';
import { hfTensors } from './weights.ts';
import { huggingFaceFiles, type ChatTemplate } from './files.ts';
import { adapterConfigJSON, adapterTensors, type LoRASettings } from '../finetune/lora.ts';

export type { ChatTemplate } from './files.ts';

/** What `saveGPT` writes besides the weights. */
export interface SaveGPTOptions {
  /** Settings stored under "llmts" in config.json. */
  extras?: LlmtsConfigExtras;
  /** The prompt format the model was tuned on (recorded for chat). */
  chatTemplate?: ChatTemplate;
  /** For resuming: the optimizer's state and the trainer's. */
  optimizer?: Optimizer<{ lr: number }>;
  state?: Record<string, unknown>;
  metadata?: Record<string, string>;
  /** Save only the LoRA adapters, against this base checkpoint. */
  lora?: { settings: LoRASettings; base: string };
}

/**
 * Save a GPT and its tokenizer (atomically): a Hugging Face GPT-2 directory, or a PEFT adapter
 * directory when `lora` is given.
 * @example await saveGPT(model, tokenizer, 'runs/tuned/best', { chatTemplate: 'alpaca' })
 */
export async function saveGPT(model: GPT, tokenizer: Tokenizer, dir: string, o: SaveGPTOptions = {}): Promise<void> {
  const eos = tokenizer.specialId('<|endoftext|>');
  const extras = { ...(o.extras ?? {}), ...(o.chatTemplate ? { chatTemplate: o.chatTemplate } : {}) };
  const config = toHFConfig(model.config, extras, eos !== undefined ? { eos } : {});
  const files = huggingFaceFiles(tokenizer, model.config.blockSize, o.chatTemplate);
  const common = { model, config, optimizer: o.optimizer, state: o.state, metadata: { format: 'pt', ...(o.metadata ?? {}) } };
  if (o.lora) {
    const adapterConfig = adapterConfigJSON(model, o.lora.settings, o.lora.base, 'CAUSAL_LM');
    await saveCheckpoint(dir, { ...common, weightsFile: 'adapter_model.safetensors', tensors: adapterTensors(model), files: { ...files, 'adapter_config.json': `${JSON.stringify(adapterConfig, null, 2)}\n` } });
    return;
  }
  const weights = hfTensors(model);
  try {
    await saveCheckpoint(dir, { ...common, tensors: weights.tensors, files });
  } finally {
    weights.dispose();
  }
}

/**
 * Save `model` and `tokenizer` as a Hugging Face GPT-2 directory at `dir` (atomically).
 * @example await saveHuggingFace(model, tokenizer, 'export/my-gpt')
 */
export async function saveHuggingFace(model: GPT, tokenizer: Tokenizer, dir: string, extras: LlmtsConfigExtras = {}, chatTemplate?: ChatTemplate): Promise<void> {
  await saveGPT(model, tokenizer, dir, { extras, chatTemplate });
}
