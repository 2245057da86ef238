import { dropout, embedding, gelu, layerNorm, linear, ones, softmax, zeros, empty, type Device, type DType, type Tensor } from '@llmts/tensor';
import { Module, Parameter } from './module.ts';
import { kaimingUniform_, normal_, uniform_ } from './init.ts';

/** A Parameter that takes over `t` (the temporary handle is released, its memory kept). */
function own(t: Tensor): Parameter {
  const p = new Parameter(t);
  t.dispose();
  return p;
}

/** Where a layer's parameters are made: device and dtype (float32 by default). */
export interface FactoryOptions {
  device?: Device;
  dtype?: DType;
  /**
   * false: leave the weights zero instead of drawing their initial values (for weights that are
   * loaded right after, as PyTorch's `skip_init`). Default true.
   */
  init?: boolean;
}

/**
 * y = x·Wᵀ + b, weight [outFeatures, inFeatures] as in PyTorch (initialised like PyTorch).
 * @example const proj = new Linear(384, 1152, { bias: false });
 */
export class Linear extends Module {
  weight: Parameter;
  bias: Parameter | null;

  constructor(readonly inFeatures: number, readonly outFeatures: number, options: FactoryOptions & { bias?: boolean } = {}) {
    super();
    const o = { device: options.device, dtype: options.dtype ?? 'float32' };
    this.weight = own(empty([outFeatures, inFeatures], o));
    this.bias = options.bias === false ? null : own(empty([outFeatures], o));
    if (options.init === false) return;
    kaimingUniform_(this.weight);
    if (this.bias) uniform_(this.bias, -1 / Math.sqrt(inFeatures), 1 / Math.sqrt(inFeatures));
  }

  /** x (..., inFeatures) -> (..., outFeatures). */
  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias); // with a bias, one GPU dispatch
  }

  protected override extraRepr(): string {
    return `inFeatures=${this.inFeatures}, outFeatures=${this.outFeatures}, bias=${this.bias !== null}`;
  }
}

/**
 * A lookup table of `numEmbeddings` vectors of size `embeddingDim` (N(0, 1) init, as PyTorch).
 * @example const wte = new Embedding(vocabSize, nEmbd); wte.forward(idx) // (B, T, C)
 */
export class Embedding extends Module {
  weight: Parameter;

  constructor(readonly numEmbeddings: number, readonly embeddingDim: number, options: FactoryOptions = {}) {
    super();
    this.weight = own(empty([numEmbeddings, embeddingDim], { device: options.device, dtype: options.dtype ?? 'float32' }));
    if (options.init !== false) normal_(this.weight);
  }

  /** ids (int32, any shape) -> (..., embeddingDim). */
  forward(ids: Tensor): Tensor {
    return embedding(ids, this.weight);
  }

  protected override extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}`;
  }
}

/** Layer normalisation over the trailing `normalizedShape` dims with optional affine weight and bias. */
export class LayerNorm extends Module {
  weight: Parameter | null;
  bias: Parameter | null;
  readonly normalizedShape: number[];

  constructor(normalizedShape: number | number[], options: FactoryOptions & { eps?: number; elementwiseAffine?: boolean; bias?: boolean } = {}) {
    super();
    this.normalizedShape = typeof normalizedShape === 'number' ? [normalizedShape] : normalizedShape;
    this.eps = options.eps ?? 1e-5;
    const o = { device: options.device, dtype: options.dtype ?? 'float32' };
    const affine = options.elementwiseAffine ?? true;
    this.weight = affine ? own(ones(this.normalizedShape, o)) : null;
    this.bias = affine && options.bias !== false ? own(zeros(this.normalizedShape, o)) : null;
  }

  readonly eps: number;

  /** Normalise over the trailing `normalizedShape` dims. */
  forward(x: Tensor): Tensor {
    return layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }

  protected override extraRepr(): string {
    return `[${this.normalizedShape}], eps=${this.eps}`;
  }
}

/** Zeroes elements with probability p in training mode (scaling the rest); identity in eval. */
export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    if (!(p >= 0 && p <= 1)) throw new Error(`Dropout: p must be in [0, 1], got ${p}`);
  }

  /** Zero elements with probability p while training (scaling the rest by 1/(1-p)); identity in eval mode. */
  forward(x: Tensor): Tensor {
    return dropout(x, this.p, this.training);
  }

  protected override extraRepr(): string {
    return `p=${this.p}`;
  }
}

/** max(x, 0), as a module. @example new Sequential(new Linear(2, 8), new ReLU()) */
export class ReLU extends Module {
  /** Apply the activation. */
  forward(x: Tensor): Tensor { return x.relu(); }
}

/** GELU as a module: exact, or the tanh approximation with `new GELU('tanh')`. */
export class GELU extends Module {
  constructor(readonly approximate: 'none' | 'tanh' = 'none') { super(); }
  /** Apply the activation. */
  forward(x: Tensor): Tensor { return gelu(x, { approximate: this.approximate }); }
  protected override extraRepr(): string { return `approximate='${this.approximate}'`; }
}

/** tanh as a module. */
export class Tanh extends Module {
  /** Apply the activation. */
  forward(x: Tensor): Tensor { return x.tanh(); }
}

/** The logistic sigmoid as a module. */
export class Sigmoid extends Module {
  /** Apply the activation. */
  forward(x: Tensor): Tensor { return x.sigmoid(); }
}

/** Softmax along `dim`, as a module. @example new Softmax(-1) */
export class Softmax extends Module {
  constructor(readonly dim: number) { super(); }
  /** Softmax along the module's dim. */
  forward(x: Tensor): Tensor { return softmax(x, this.dim); }
}

/** Returns its input (a placeholder layer). */
export class Identity extends Module {
  /** Return `x` unchanged. */
  forward(x: Tensor): Tensor { return x; }
}

/** Anything with a one-tensor forward. */
export interface Layer extends Module {
  forward(x: Tensor): Tensor;
}

/**
 * Modules applied in order. @example new Sequential(new Linear(2, 16), new ReLU(), new Linear(16, 1))
 */
export class Sequential extends Module {
  readonly layers: Layer[];

  constructor(...layers: Layer[]) {
    super();
    this.layers = layers;
  }

  /** Children are named 0, 1, … as in PyTorch. */
  override *namedChildren(): Generator<[string, Module]> {
    for (let i = 0; i < this.layers.length; i++) yield [String(i), this.layers[i]!];
  }

  /** Apply the layers in order. */
  forward(x: Tensor): Tensor {
    return this.layers.reduce((h, layer) => layer.forward(h), x);
  }

  /** The layer at `i` (negative counts from the end). */
  at(i: number): Layer {
    const layer = this.layers.at(i);
    if (layer === undefined) throw new Error(`Sequential: index ${i} out of range (length ${this.layers.length})`);
    return layer;
  }

  /** Number of layers. */
  get length(): number { return this.layers.length; }
}

/** A list of modules whose parameters are registered (named 0, 1, …). */
export class ModuleList<M extends Module = Module> extends Module {
  readonly items: M[];

  constructor(items: M[] = []) {
    super();
    this.items = [...items];
  }

  override *namedChildren(): Generator<[string, Module]> {
    for (let i = 0; i < this.items.length; i++) yield [String(i), this.items[i]!];
  }

  /** Append a module (its parameters join this list's). */
  push(m: M): this { this.items.push(m); return this; }
  /** The module at `i` (negative counts from the end). */
  at(i: number): M {
    const m = this.items.at(i);
    if (m === undefined) throw new Error(`ModuleList: index ${i} out of range (length ${this.items.length})`);
    return m;
  }
  /** Number of modules. */
  get length(): number { return this.items.length; }
  /** `for (const block of list)` walks the modules in order. */
  [Symbol.iterator](): Iterator<M> { return this.items[Symbol.iterator](); }
}
