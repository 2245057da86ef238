/**
 * GPT, as nanoGPT's model.py: token + learned position embeddings, a stack of blocks (causal
 * multi-head self-attention with a fused QKV projection, then a GELU MLP, each with a residual),
 * a final LayerNorm and the LM head. Names follow nanoGPT / Hugging Face GPT-2 so weights map over.
 */
import { cat, crossEntropy, dropout, dropoutAdd, arange, keep, linearGelu, scaledDotProductAttention, selfAttention, type Device, type QuantBits, type Tensor } from '@llmts/tensor';
import { Embedding, LayerNorm, Linear, Module, ModuleList, init, quantizeModel, type EmbeddingLayer, type FactoryOptions, type LinearLayer, type QuantizeReport } from '@llmts/nn';
import { makeConfig, type GPTConfig } from './config.ts';

/** Keys and values of earlier positions, per layer: (B, nHead, Tpast, headDim). */
export class KVCache {
  readonly layers: { k: Tensor | null; v: Tensor | null }[];
  /** Positions already in the cache. */
  length = 0;

  constructor(nLayer: number) {
    this.layers = Array.from({ length: nLayer }, () => ({ k: null, v: null }));
  }

  /** Free the cached keys and values. */
  dispose(): void {
    for (const l of this.layers) {
      l.k?.dispose();
      l.v?.dispose();
      l.k = l.v = null;
    }
    this.length = 0;
  }
}

/** Causal multi-head self-attention with a fused QKV projection (nanoGPT's CausalSelfAttention). @example new CausalSelfAttention(makeConfig({ nEmbd: 64, nHead: 4 })) */
export class CausalSelfAttention extends Module {
  c_attn: LinearLayer;
  c_proj: LinearLayer;
  private readonly nHead: number;
  private readonly p: number;

  constructor(c: GPTConfig, f: FactoryOptions = {}) {
    super();
    this.c_attn = new Linear(c.nEmbd, 3 * c.nEmbd, { ...f, bias: c.bias });
    this.c_proj = new Linear(c.nEmbd, c.nEmbd, { ...f, bias: c.bias });
    this.nHead = c.nHead;
    this.p = c.dropout;
  }

  /** x (B, T, C) -> (B, T, C); with a cache, T new positions attend to all earlier ones too. */
  forward(x: Tensor, cache?: { k: Tensor | null; v: Tensor | null }, past = 0): Tensor {
    return dropout(this.project(x, cache, past), this.p, this.training);
  }

  /** `forward` without the dropout on its output (a Block fuses that dropout into the residual add). */
  project(x: Tensor, cache?: { k: Tensor | null; v: Tensor | null }, _past = 0): Tensor {
    const [B, T, C] = x.shape as [number, number, number];
    const hs = C / this.nHead;
    const attnDropout = this.training ? this.p : 0;
    if (!cache) {
      // the heads are read from the packed projection in place; its gradient comes back whole
      return this.c_proj.forward(selfAttention(this.c_attn.forward(x), this.nHead, { causal: true, dropout: attnDropout }));
    }
    const [q0, k0, v0] = this.c_attn.forward(x).split(C, 2); // 3 × (B, T, C)
    const heads = (t: Tensor) => t.view(B, T, this.nHead, hs).transpose(1, 2); // (B, nh, T, hs)
    const q = heads(q0!);
    let k = heads(k0!);
    let v = heads(v0!);
    if (cache.k && cache.v) {
      k = cat([cache.k, k], 2);
      v = cat([cache.v, v], 2);
    }
    cache.k?.dispose();
    cache.v?.dispose();
    // the cache outlives the tidy() scope of this step
    cache.k = keep(k.detach().contiguous());
    cache.v = keep(v.detach().contiguous());
    // fused: query i (position past + i) sees keys 0..past + i; no (T × T) weights are kept
    const att = scaledDotProductAttention(q, k, v, { causal: true, dropout: attnDropout }); // (B, nh, T, hs)
    const y = att.transpose(1, 2).contiguous().view(B, T, C); // re-assemble heads (no copy on the GPU)
    return this.c_proj.forward(y);
  }
}

/** The transformer's feed-forward block: Linear(C, 4C), GELU, Linear(4C, C), dropout. */
export class MLP extends Module {
  c_fc: LinearLayer;
  c_proj: LinearLayer;

  constructor(private readonly c: GPTConfig, f: FactoryOptions = {}) {
    super();
    this.c_fc = new Linear(c.nEmbd, 4 * c.nEmbd, { ...f, bias: c.bias });
    this.c_proj = new Linear(4 * c.nEmbd, c.nEmbd, { ...f, bias: c.bias });
  }

  /** x (B, T, C) -> (B, T, C). */
  forward(x: Tensor): Tensor {
    return dropout(this.project(x), this.c.dropout, this.training);
  }

  /** `forward` without the dropout on its output (a Block fuses that dropout into the residual add). */
  project(x: Tensor): Tensor {
    // a plain Linear fuses its GELU (one GPU kernel); LoRA or quantized layers apply their own forward first
    const fc = this.c_fc;
    const h = fc instanceof Linear ? linearGelu(x, fc.weight, fc.bias, { approximate: this.c.gelu }) : fc.forward(x).gelu({ approximate: this.c.gelu });
    return this.c_proj.forward(h);
  }
}

/** One transformer block: attention and MLP, each with a residual and a LayerNorm (pre- or post-norm). */
export class Block extends Module {
  ln_1: LayerNorm;
  attn: CausalSelfAttention;
  ln_2: LayerNorm;
  mlp: MLP;

  constructor(private readonly c: GPTConfig, f: FactoryOptions = {}) {
    super();
    const ln = () => new LayerNorm(c.nEmbd, { ...f, bias: c.bias, eps: c.layerNormEps });
    this.ln_1 = ln();
    this.attn = new CausalSelfAttention(c, f);
    this.ln_2 = ln();
    this.mlp = new MLP(c, f);
  }

  /** x (B, T, C) -> (B, T, C); `cache` and `past` for generation with a KV cache. */
  forward(x: Tensor, cache?: { k: Tensor | null; v: Tensor | null }, past = 0): Tensor {
    // x + dropout(branch) is one kernel (dropoutAdd), with the values of the two ops
    const p = this.c.dropout, training = this.training;
    if (this.c.normPlacement === 'pre') {
      x = dropoutAdd(x, this.attn.project(this.ln_1.forward(x), cache, past), p, training);
      return dropoutAdd(x, this.mlp.project(this.ln_2.forward(x)), p, training);
    }
    x = this.ln_1.forward(dropoutAdd(x, this.attn.project(x, cache, past), p, training));
    return this.ln_2.forward(dropoutAdd(x, this.mlp.project(x), p, training));
  }
}

/**
 * The GPT body without a head (Hugging Face's GPT2Model): embeddings, blocks and the final norm.
 * The language model puts lm_head on it; a classifier puts a score head on it.
 */
export class Transformer extends Module {
  wte: EmbeddingLayer;
  wpe: Embedding;
  h: ModuleList<Block>;
  ln_f: LayerNorm;

  constructor(readonly config: GPTConfig, f: FactoryOptions = {}) {
    super();
    const c = config;
    this.wte = new Embedding(c.vocabSize, c.nEmbd, f);
    this.wpe = new Embedding(c.blockSize, c.nEmbd, f);
    this.h = new ModuleList(Array.from({ length: c.nLayer }, () => new Block(c, f)));
    this.ln_f = new LayerNorm(c.nEmbd, { ...f, bias: c.bias, eps: c.layerNormEps });
  }

  /**
   * idx (B, T) int32 -> normalised hidden states (B, T, C). With a cache, idx holds only the new
   * positions and the cache grows by T.
   */
  forward(idx: Tensor, cache?: KVCache): Tensor {
    const [, T] = idx.shape as [number, number];
    const past = cache?.length ?? 0;
    if (past + T > this.config.blockSize) {
      throw new Error(`GPT.forward: ${past + T} positions exceed blockSize ${this.config.blockSize} (crop the context)`);
    }
    // positions past..past+T-1 are consecutive rows of wpe: a view of them is the embedding of
    // arange(past, past + T), without the index tensor, the gather or a scatter in backward
    const wpe: { forward(ids: Tensor): Tensor } = this.wpe;
    const posEmb = this.wpe instanceof Embedding ? this.wpe.weight.narrow(0, past, T) : wpe.forward(arange(past, past + T, 1, { device: idx.device }));
    let x = this.wte.forward(idx).add(posEmb); // (B, T, C)
    x = dropout(x, this.config.dropout, this.training);
    this.h.items.forEach((block, i) => { x = block.forward(x, cache?.layers[i], past); });
    if (cache) cache.length = past + T;
    return this.ln_f.forward(x);
  }
}

export interface ForwardOutput {
  /** (B, T, V) when targets are given or `allLogits`; else (B, 1, V) for the last position. */
  logits: Tensor;
  loss: Tensor | null;
}

/**
 * The GPT. @example
 * const model = new GPT({ vocabSize: 65, blockSize: 256, nLayer: 6, nHead: 6, nEmbd: 384, dropout: 0.2 });
 * const { logits, loss } = model.forward(x, y); // x, y: (B, T) int32
 */
export class GPT extends Module {
  readonly config: GPTConfig;
  transformer: Transformer;
  lm_head: LinearLayer;

  /**
   * `init: false` leaves the weights zero (for weights loaded right after, as `loadGPT` does:
   * no time spent drawing values that are overwritten).
   */
  constructor(config: Partial<GPTConfig>, options: { device?: Device; init?: boolean } = {}) {
    super();
    const c = (this.config = makeConfig(config));
    // the layers' own defaults are skipped: GPT-2's initialisation below replaces them
    const f: FactoryOptions = { device: options.device, init: false };
    this.transformer = new Transformer(c, f);
    const head = new Linear(c.nEmbd, c.vocabSize, { ...f, bias: false });
    if (c.tiedEmbeddings) {
      head.weight.dispose(); // the head reads the token embedding instead
      head.weight = (this.transformer.wte as Embedding).weight;
    }
    this.lm_head = head;
    if (options.init === false) return;
    // GPT-2 init: N(0, 0.02) weights, zero biases, residual projections scaled by 1/sqrt(2·nLayer)
    for (const m of this.modules()) {
      if (m instanceof Linear) {
        init.normal_(m.weight, 0, 0.02);
        if (m.bias) init.zeros_(m.bias);
      } else if (m instanceof Embedding) init.normal_(m.weight, 0, 0.02);
    }
    for (const [name, p] of this.namedParameters()) if (name.endsWith('c_proj.weight')) init.scaledResidual_(p, c.nLayer);
  }

  /** The device the model's weights are on. */
  get device(): Device {
    return this.transformer.wpe.weight.device;
  }

  /**
   * Quantize the Linear layers and the token embedding to int8 (per output channel) or int4
   * (groups of 32) for inference, in place; the position embedding, norms and biases stay float32.
   * The weights must be on the CPU; the model ends up on `device`.
   * @example model.quantize(8, 'gpu')
   */
  quantize(bits: QuantBits, device: Device = 'cpu'): QuantizeReport {
    if (this.device !== 'cpu') throw new Error('GPT.quantize: the model must be on the CPU (quantization reads the weights); pass the target device');
    const report = quantizeModel(this, bits, { device, keep: (name) => name !== 'transformer.wpe' });
    this.to(device);
    this.eval();
    return report;
  }

  /** Parameters, excluding position embeddings when `nonEmbedding` (nanoGPT's count). */
  numParams(nonEmbedding = true): number {
    return this.numParameters() - (nonEmbedding ? this.transformer.wpe.weight.numel() : 0);
  }

  /**
   * idx (B, T) int32 -> logits, and the mean cross-entropy when targets (B, T) are given (positions
   * whose target is `ignoreIndex` are skipped). With a cache, idx holds only the new positions.
   */
  forward(idx: Tensor, targets?: Tensor | null, options: { cache?: KVCache; allLogits?: boolean; ignoreIndex?: number } = {}): ForwardOutput {
    const [B, T] = idx.shape as [number, number];
    const x = this.transformer.forward(idx, options.cache); // (B, T, C)
    if (targets) {
      const logits = this.lm_head.forward(x); // (B, T, V)
      const V = this.config.vocabSize;
      const loss = crossEntropy(logits.view(B * T, V), targets.reshape(B * T), { ignoreIndex: options.ignoreIndex ?? -100 });
      return { logits, loss };
    }
    // inference: only the last position's logits are needed unless asked for all
    return { logits: this.lm_head.forward(options.allLogits ? x : x.narrow(1, T - 1, 1)), loss: null };
  }

  /** An empty KV cache for generation. */
  newCache(): KVCache {
    return new KVCache(this.config.nLayer);
  }

  /**
   * AdamW with nanoGPT's grouping: weight decay for matrices (dim >= 2), none for biases and norms.
   */
  optimizerGroups(weightDecay: number): { params: Tensor[]; weightDecay: number }[] {
    const params = this.parameters().filter((p) => p.requiresGrad);
    return [
      { params: params.filter((p) => p.ndim >= 2), weightDecay },
      { params: params.filter((p) => p.ndim < 2), weightDecay: 0 },
    ];
  }
}
