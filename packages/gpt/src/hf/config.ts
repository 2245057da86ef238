/**
 * GPT-2's Hugging Face config.json, both ways. A checkpoint's config.json is in these keys, so
 * `transformers.GPT2LMHeadModel.from_pretrained(dir)` reads a model trained here; settings GPT-2
 * has no key for sit under "llmts". Old llm.ts configs (`{"model": {camelCase…}}`) still load.
 */
import { makeConfig, type GPTConfig } from '../config.ts';
import type { ChatTemplate } from './files.ts';

/** Extra settings stored under "llmts" in config.json. */
export interface LlmtsConfigExtras {
  bias?: boolean;
  normPlacement?: 'pre' | 'post';
  preset?: string;
  [key: string]: unknown;
}

/** config.json for a GPT; a post-norm model is declared as its own type so GPT-2 code refuses it. */
export function toHFConfig(c: GPTConfig, extras: LlmtsConfigExtras = {}, special: { eos?: number } = {}): Record<string, unknown> {
  const gpt2 = c.normPlacement === 'pre';
  return {
    architectures: [gpt2 ? 'GPT2LMHeadModel' : 'LlmtsPostNormGPT'],
    model_type: gpt2 ? 'gpt2' : 'llmts-post-norm-gpt',
    vocab_size: c.vocabSize,
    n_positions: c.blockSize,
    n_ctx: c.blockSize,
    n_embd: c.nEmbd,
    n_layer: c.nLayer,
    n_head: c.nHead,
    n_inner: null,
    activation_function: c.gelu === 'tanh' ? 'gelu_new' : 'gelu',
    resid_pdrop: c.dropout,
    embd_pdrop: c.dropout,
    attn_pdrop: c.dropout,
    layer_norm_epsilon: c.layerNormEps,
    initializer_range: 0.02,
    scale_attn_weights: true,
    scale_attn_by_inverse_layer_idx: false,
    reorder_and_upcast_attn: false,
    tie_word_embeddings: c.tiedEmbeddings,
    ...(special.eos !== undefined ? { bos_token_id: special.eos, eos_token_id: special.eos } : {}),
    torch_dtype: 'float32',
    use_cache: true,
    llmts: { bias: c.bias, normPlacement: c.normPlacement, ...extras },
  };
}

/** Whether a config.json is llm.ts's old form (`{"model": {nLayer…}}`). */
/**
 * Refuse a classifier's config.json (…ForSequenceClassification) where a language model is
 * expected; `hint` says what to use instead.
 */
export function refuseClassifierConfig(raw: Record<string, unknown>, file: string, hint = ''): void {
  if (Array.isArray(raw.architectures) && raw.architectures.some((x) => typeof x === 'string' && x.endsWith('ForSequenceClassification'))) {
    throw new Error(`${file}: this checkpoint is a classifier (${String(raw.architectures[0])}), not a language model${hint}`);
  }
}

/** The chat template a config.json records under "llmts". */
export function chatTemplateOf(raw: Record<string, unknown>): { chatTemplate?: ChatTemplate } {
  const t = (raw.llmts as { chatTemplate?: unknown } | undefined)?.chatTemplate;
  return t === 'alpaca' ? { chatTemplate: t } : {};
}

/**
 * Whether a config.json is a Hugging Face GPT-2 that relies on GPT-2's own tokenizer when its
 * directory has no tokenizer files (the hub supplies it): GPT-2's vocabulary, not one of ours.
 */
export function usesGPT2Tokenizer(raw: Record<string, unknown>): boolean {
  return raw.model_type === 'gpt2' && !isLegacyConfig(raw) && raw.llmts === undefined && (raw.vocab_size === 50257 || raw.vocab_size === 50304);
}

export function isLegacyConfig(json: Record<string, unknown>): boolean {
  return json.model_type === undefined && json.model !== null && typeof json.model === 'object';
}

function need<T>(json: Record<string, unknown>, key: string, check: (v: unknown) => v is T, want: string, file: string): T {
  const v = json[key];
  if (!check(v)) throw new Error(`${file}: '${key}' must be ${want}, got ${JSON.stringify(v)}`);
  return v;
}
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * The GPT shape of a config.json: GPT-2's Hugging Face keys (with "llmts" extras), or the old
 * llm.ts form. Unsupported GPT-2 variants are errors naming the file and key.
 */
export function fromHFConfig(json: Record<string, unknown>, file: string): GPTConfig {
  const wrap = (f: () => GPTConfig) => {
    try {
      return f();
    } catch (e) {
      const m = (e as Error).message;
      throw new Error(m.startsWith(file) ? m : `${file}: ${m}`);
    }
  };
  if (isLegacyConfig(json)) return wrap(() => makeConfig(json.model as Partial<GPTConfig>));
  const type = json.model_type;
  const archs = Array.isArray(json.architectures) ? json.architectures : [];
  if (type !== 'gpt2' && type !== 'llmts-post-norm-gpt') {
    throw new Error(`${file}: unsupported architecture ${JSON.stringify(type ?? archs[0] ?? null)} (only GPT-2: "model_type": "gpt2")`);
  }
  const nEmbd = need(json, 'n_embd', isInt, 'a positive integer', file);
  const inner = json.n_inner;
  if (inner !== null && inner !== undefined && inner !== 4 * nEmbd) throw new Error(`${file}: 'n_inner' ${JSON.stringify(inner)} is not supported (only 4 × n_embd)`);
  const act = json.activation_function ?? 'gelu_new';
  const gelu = act === 'gelu_new' || act === 'gelu_pytorch_tanh' || act === 'gelu_fast' ? 'tanh' : act === 'gelu' ? 'none' : null;
  if (gelu === null) throw new Error(`${file}: 'activation_function' ${JSON.stringify(act)} is not supported (gelu_new, gelu_pytorch_tanh or gelu)`);
  if (json.scale_attn_by_inverse_layer_idx === true) throw new Error(`${file}: 'scale_attn_by_inverse_layer_idx' true is not supported`);
  if (json.scale_attn_weights === false) throw new Error(`${file}: 'scale_attn_weights' false is not supported`);
  const extras = (json.llmts ?? {}) as LlmtsConfigExtras;
  const blockKey = json.n_positions !== undefined ? 'n_positions' : 'n_ctx';
  return wrap(() => makeConfig({
    vocabSize: need(json, 'vocab_size', isInt, 'a positive integer', file),
    blockSize: need(json, blockKey, isInt, 'a positive integer', file),
    nLayer: need(json, 'n_layer', isInt, 'a positive integer', file),
    nHead: need(json, 'n_head', isInt, 'a positive integer', file),
    nEmbd,
    dropout: json.resid_pdrop === undefined ? 0 : need(json, 'resid_pdrop', isNum, 'a number', file),
    layerNormEps: json.layer_norm_epsilon === undefined ? 1e-5 : need(json, 'layer_norm_epsilon', isNum, 'a number', file),
    tiedEmbeddings: json.tie_word_embeddings === undefined ? true : json.tie_word_embeddings as boolean,
    gelu,
    bias: extras.bias ?? true,
    normPlacement: extras.normPlacement ?? (type === 'gpt2' ? 'pre' : 'post'),
  }));
}
