/**
 * The small files of a Hugging Face GPT-2 directory besides config.json and the weights: the
 * tokenizer's and generation's (no file access, so a page builds the same directory as bytes).
 */
import { ALPACA_PREAMBLE, toHuggingFace, type Tokenizer } from '@llmts/data';

/** Prompt formats a checkpoint can declare for chat (`llmts chat`, the server's chat endpoint). */
export type ChatTemplate = 'alpaca';

/** The Alpaca chat format as a Jinja template (tokenizer_config.json's chat_template), equal to `formatChatPrompt`. */
const ALPACA_JINJA = [
  "{% set system = messages | selectattr('role', 'equalto', 'system') | map(attribute='content') | join('\\n\\n') %}",
  `{{ system if system else ${JSON.stringify(ALPACA_PREAMBLE)} }}`,
  "{% for m in messages if m.role != 'system' %}{{ '\\n\\n### Instruction:\\n' + m.content if m.role == 'user' else '\\n\\n### Response:\\n' + m.content }}{% endfor %}",
  "{% if add_generation_prompt %}{{ '\\n\\n### Response:\\n' }}{% endif %}",
].join('');

/**
 * The tokenizer and generation files of a Hugging Face directory: tokenizer.json,
 * tokenizer_config.json (a PreTrainedTokenizerFast, so AutoTokenizer reads any of our tokenizers;
 * with the chat template when the model was instruction-tuned) and generation_config.json.
 */
export function huggingFaceFiles(tokenizer: Tokenizer, contextLength: number, chatTemplate?: ChatTemplate): Record<string, string> {
  const eos = tokenizer.specialId('<|endoftext|>');
  return {
    'tokenizer.json': `${JSON.stringify(toHuggingFace(tokenizer) ?? tokenizer.toJSON())}\n`,
    'tokenizer_config.json': `${JSON.stringify({
      tokenizer_class: 'PreTrainedTokenizerFast', model_max_length: contextLength, clean_up_tokenization_spaces: false,
      ...(eos !== undefined ? { bos_token: '<|endoftext|>', eos_token: '<|endoftext|>' } : {}),
      ...(chatTemplate === 'alpaca' ? { chat_template: ALPACA_JINJA } : {}),
    }, null, 2)}\n`,
    'generation_config.json': `${JSON.stringify({ ...(eos !== undefined ? { bos_token_id: eos, eos_token_id: eos } : {}) }, null, 2)}\n`,
  };
}

