/** The GPT's shape, as nanoGPT's GPTConfig (defaults are GPT-2 small). */
export interface GPTConfig {
  /** Number of token ids (GPT-2: 50257; nanoGPT pads to 50304 for speed). */
  vocabSize: number;
  /** Longest context the model sees (learned position embeddings). */
  blockSize: number;
  /** Transformer blocks. */
  nLayer: number;
  /** Attention heads per block (nEmbd must divide by it). */
  nHead: number;
  /** Width of the residual stream. */
  nEmbd: number;
  /** Dropout on embeddings, attention weights and residual branches while training (0 = off). */
  dropout: number;
  /** Biases in Linear layers and LayerNorms (GPT-2: true; nanoGPT trains faster without). */
  bias: boolean;
  /** Share the token embedding with the LM head (GPT-2 does). */
  tiedEmbeddings: boolean;
  /** 'pre': LayerNorm before attention/MLP (GPT-2); 'post': after the residual add (the original Transformer, the freeCodeCamp course). */
  normPlacement: 'pre' | 'post';
  /** GELU of the MLP: 'tanh' approximation (GPT-2's gelu_new) or 'none' (exact). */
  gelu: 'tanh' | 'none';
  /** LayerNorm epsilon. */
  layerNormEps: number;
}

/** GPT-2 small's shape (124M parameters), the defaults `makeConfig` fills in. */
export const defaultConfig: GPTConfig = {
  vocabSize: 50257,
  blockSize: 1024,
  nLayer: 12,
  nHead: 12,
  nEmbd: 768,
  dropout: 0,
  bias: true,
  tiedEmbeddings: true,
  normPlacement: 'pre',
  gelu: 'tanh',
  layerNormEps: 1e-5,
};

/** Fill defaults and check the shape, naming the field at fault. */
export function makeConfig(partial: Partial<GPTConfig>): GPTConfig {
  const c = { ...defaultConfig, ...partial };
  for (const k of ['vocabSize', 'blockSize', 'nLayer', 'nHead', 'nEmbd'] as const) {
    if (!Number.isInteger(c[k]) || c[k] <= 0) throw new Error(`GPTConfig: ${k} must be a positive integer, got ${c[k]}`);
  }
  if (c.nEmbd % c.nHead !== 0) throw new Error(`GPTConfig: nEmbd (${c.nEmbd}) must be divisible by nHead (${c.nHead})`);
  if (!(c.dropout >= 0 && c.dropout < 1)) throw new Error(`GPTConfig: dropout must be in [0, 1), got ${c.dropout}`);
  if (c.normPlacement !== 'pre' && c.normPlacement !== 'post') throw new Error(`GPTConfig: normPlacement must be 'pre' or 'post', got '${c.normPlacement}'`);
  if (c.gelu !== 'tanh' && c.gelu !== 'none') throw new Error(`GPTConfig: gelu must be 'tanh' or 'none', got '${c.gelu}'`);
  if (typeof c.layerNormEps !== 'number' || !(c.layerNormEps > 0) || !Number.isFinite(c.layerNormEps)) throw new Error(`GPTConfig: layerNormEps must be a positive number, got ${JSON.stringify(c.layerNormEps)}`);
  for (const k of ['bias', 'tiedEmbeddings'] as const) {
    if (typeof c[k] !== 'boolean') throw new Error(`GPTConfig: ${k} must be true or false, got ${JSON.stringify(c[k])}`);
  }
  return c;
}
