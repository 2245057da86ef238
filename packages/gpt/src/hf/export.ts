/**
 * Writing a Hugging Face GPT-2 directory (what `llmts export` does, and what checkpoints already
 * are): config.json, model.safetensors, tokenizer.json with tokenizer_config.json, and
 * generation_config.json, so `GPT2LMHeadModel.from_pretrained(dir)` and
 * `AutoTokenizer.from_pretrained(dir)` read it.
 */
import { saveCheckpoint } from '@llmts/nn';
import { toHuggingFace, type Tokenizer } from '@llmts/data';
import type { GPT } from '../model.ts';
import { toHFConfig, type LlmtsConfigExtras } from './config.ts';
import { hfTensors } from './weights.ts';

/**
 * The tokenizer and generation files of a Hugging Face directory: tokenizer.json,
 * tokenizer_config.json (a PreTrainedTokenizerFast, so AutoTokenizer reads any of our tokenizers)
 * and generation_config.json.
 */
export function huggingFaceFiles(tokenizer: Tokenizer, contextLength: number): Record<string, string> {
  const eos = tokenizer.specialId('<|endoftext|>');
  return {
    'tokenizer.json': `${JSON.stringify(toHuggingFace(tokenizer) ?? tokenizer.toJSON())}\n`,
    'tokenizer_config.json': `${JSON.stringify({
      tokenizer_class: 'PreTrainedTokenizerFast', model_max_length: contextLength, clean_up_tokenization_spaces: false,
      ...(eos !== undefined ? { bos_token: '<|endoftext|>', eos_token: '<|endoftext|>' } : {}),
    }, null, 2)}\n`,
    'generation_config.json': `${JSON.stringify({ ...(eos !== undefined ? { bos_token_id: eos, eos_token_id: eos } : {}) }, null, 2)}\n`,
  };
}

/**
 * Save `model` and `tokenizer` as a Hugging Face GPT-2 directory at `dir` (atomically).
 * @example await saveHuggingFace(model, tokenizer, 'export/my-gpt')
 */
export async function saveHuggingFace(model: GPT, tokenizer: Tokenizer, dir: string, extras: LlmtsConfigExtras = {}): Promise<void> {
  const eos = tokenizer.specialId('<|endoftext|>');
  const special = eos !== undefined ? { eos } : {};
  const weights = hfTensors(model);
  try {
    await saveCheckpoint(dir, {
      model,
      config: toHFConfig(model.config, extras, special),
      tensors: weights.tensors,
      metadata: { format: 'pt' },
      files: huggingFaceFiles(tokenizer, model.config.blockSize),
    });
  } finally {
    weights.dispose();
  }
}
