import type { DType, TypedArray } from './dtype.ts';
import { DTYPES } from './dtype.ts';
import type { Device, Storage, View } from './backend/types.ts';
import { getBackend } from './backend/registry.ts';
import { contiguousStrides, fmt, numel, isContiguous, type Shape } from './shape.ts';
import { trackTensor, keep } from './memory.ts';
import { backward, type BackwardOptions, type Node } from './autograd/tape.ts';
import { isGradEnabled, noGrad } from './autograd/mode.ts';
import * as un from './ops/unary.ts';
import * as bin from './ops/binary.ts';
import * as red from './ops/reduce.ts';
import * as mv from './ops/movement.ts';
import * as idx from './ops/indexing.ts';
import * as comp from './ops/composite.ts';
import { matmul } from './ops/matmul.ts';
import { accumulate_, canAccumulateInto } from './ops/accumulate.ts';
import { toDevice, toAsync, ready, fullLike } from './ops/create.ts';
import { cast } from './ops/unary.ts';
import { nested } from './format.ts';

export type Scalar = number | boolean;
export type TensorLike = Tensor | Scalar;
export type { ValuesAndIndices } from './ops/reduce.ts';
import type { ValuesAndIndices } from './ops/reduce.ts';

let nextTensorId = 0;

/**
 * An n-dimensional array on a device, with reverse-mode autograd.
 * Tensors are values: ops return new tensors (views share memory), and only optimizers update
 * storage in place. Read values with `await t.toArray()` or `await t.item()`.
 * @example
 * const x = tensor([[1, 2], [3, 4]], { requiresGrad: true });
 * const y = x.matmul(x).sum();
 * y.backward();
 * console.log(await x.grad!.toArray());
 */
export class Tensor implements View {
  readonly isTensor = true;
  readonly id = nextTensorId++;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
  readonly dtype: DType;
  readonly storage: Storage;
  /** Gradient accumulated by `backward()` (leaves, and tensors that called `retainGrad()`). */
  grad: Tensor | null = null;
  /** The op that made this tensor, when it was recorded for autograd. */
  node: Node | null = null;
  requiresGradFlag = false;
  retainsGrad = false;
  private disposed = false;

  constructor(storage: Storage, shape: Shape, strides: Shape = contiguousStrides(shape), offset = 0, dtype: DType = storage.dtype) {
    if (storage.freed) throw new Error(`tensor: cannot view a freed storage (shape ${fmt(shape)})`);
    this.storage = storage;
    this.shape = Object.freeze([...shape]);
    this.strides = Object.freeze([...strides]);
    this.offset = offset;
    this.dtype = dtype;
    storage.refs++;
    trackTensor(this);
  }

  /** 'cpu' or 'gpu': where the values live. */
  get device(): Device { return this.storage.device; }
  /** Number of dims (`shape.length`). */
  get ndim(): number { return this.shape.length; }
  /** Whether gradients flow to this tensor. Setting it is allowed on leaves only. */
  get requiresGrad(): boolean { return this.requiresGradFlag; }
  set requiresGrad(value: boolean) {
    if (this.node !== null && !value) throw new Error('requiresGrad: cannot turn off gradients of a non-leaf tensor; use detach()');
    if (value && this.dtype !== 'float32' && this.dtype !== 'float64' && this.dtype !== 'float16') {
      throw new Error(`requiresGrad: only floating point tensors can require gradients, got ${this.dtype}`);
    }
    this.requiresGradFlag = value;
  }
  /** A leaf has no recorded op: user-made tensors and parameters. */
  get isLeaf(): boolean { return this.node === null; }
  /** Whether `dispose()` was called on this handle. */
  get isDisposed(): boolean { return this.disposed; }

  /** Number of elements. */
  numel(): number { return numel(this.shape); }
  /** `size()` is the shape; `size(d)` one dim (negative dims count from the end). */
  size(): number[];
  size(dim: number): number;
  size(dim?: number): number | number[] {
    if (dim === undefined) return [...this.shape];
    return this.shape[mv.dimIndex('size', dim, this.ndim)]!;
  }
  /** Whether the elements are laid out row-major without gaps (views may not be). */
  isContiguous(): boolean { return isContiguous(this.shape, this.strides); }

  /** Set `requiresGrad` in place and return this tensor (PyTorch's `requires_grad_()`). */
  requiresGrad_(value = true): this { this.requiresGrad = value; return this; }
  /** Keep `.grad` on this non-leaf tensor during `backward()`. */
  retainGrad(): this { this.retainsGrad = true; return this; }

  // ---- autograd ----------------------------------------------------------------------------

  /**
   * Accumulate d(this)/d(leaf) into every leaf's `.grad`.
   * @example loss.backward(); optimizer.step();
   */
  backward(grad?: Tensor, options?: BackwardOptions): void { backward(this, grad, options); }

  /** Add `g` into `.grad` (used by backward; takes ownership of `g`). */
  accumulateGrad(g: Tensor): void {
    if (this.grad === null) this.grad = keep(g);
    else if (!this.grad.requiresGrad && canAccumulateInto(this.grad, g)) {
      accumulate_(this.grad, g); // in place, as PyTorch accumulates .grad
      g.dispose();
    } else {
      const sum = keep(this.grad.add(g));
      this.grad.dispose();
      g.dispose();
      this.grad = sum;
    }
  }

  /** The next tensor id (the tape uses it to tell the tensors it created). */
  nextId(): number { return nextTensorId; }

  /** A new tensor sharing this one's memory, cut off from the graph. */
  detach(): Tensor { return new Tensor(this.storage, this.shape, this.strides, this.offset, this.dtype); }

  /** A second handle on the same memory (and, when recording, the same place in the graph). */
  alias(): Tensor {
    const t = this.detach();
    if (this.requiresGradFlag && isGradEnabled()) {
      t.requiresGradFlag = true;
      t.node = { op: 'alias', inputs: [this], vjp: (g) => [g] };
    }
    return t;
  }

  /**
   * Make this handle hold `src`'s memory (PyTorch's `t.data = src`): shape, dtype and device
   * follow `src`; the handle's identity (and so every reference to it) is kept. Used to move and
   * load parameters in place.
   */
  setData(src: Tensor): void {
    src.assertLive('setData');
    const self = this as unknown as { storage: Storage; shape: readonly number[]; strides: readonly number[]; offset: number; dtype: DType };
    src.storage.refs++;
    const old = this.storage;
    self.storage = src.storage;
    self.shape = Object.freeze([...src.shape]);
    self.strides = Object.freeze([...src.strides]);
    self.offset = src.offset;
    self.dtype = src.dtype;
    if (old !== src.storage) old.replaced = true; // a graph captured on the old memory must not go on using it
    if (this.disposed) this.disposed = false;
    else if (--old.refs <= 0 && !old.freed) getBackend(old.device).free(old);
  }

  /** Free this handle; storage is released when no other view uses it. Safe to call twice. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (--this.storage.refs <= 0) getBackend(this.storage.device).free(this.storage);
  }

  /** `using t = …` disposes `t` at the end of the block. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  // ---- readback (the only async edge) -------------------------------------------------------

  /** The elements as a flat typed array in row-major order (Float32Array for float32…). */
  async data(): Promise<TypedArray> {
    this.assertLive('data');
    return getBackend(this.device).read(this);
  }

  /** The elements as nested arrays (a number for a 0-d tensor; booleans for bool), like `tolist()`. */
  async toArray(): Promise<unknown> {
    return nested(await this.data(), this.shape, this.dtype);
  }

  /** Alias of `toArray()`, the PyTorch name. */
  async tolist(): Promise<unknown> { return this.toArray(); }

  /** The value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.numel() !== 1) throw new Error(`item: only one-element tensors can be converted to a number, got shape ${fmt(this.shape)}`);
    return (await this.data())[0]!;
  }

  /** A readable rendering of the values (async, since it reads them back). */
  async format(): Promise<string> {
    const values = await this.toArray();
    return `tensor(${JSON.stringify(values)}, shape=${fmt(this.shape)}, dtype=${this.dtype}, device=${this.device})`;
  }

  toString(): string {
    return `Tensor(shape=${fmt(this.shape)}, dtype=${this.dtype}, device=${this.device}${this.requiresGrad ? ', requiresGrad' : ''})`;
  }

  /** Throw, naming `op`, when this tensor (or its memory) was disposed. */
  assertLive(op: string): void {
    if (this.disposed || this.storage.freed) throw new Error(`${op}: tensor of shape ${fmt(this.shape)} was used after dispose()`);
  }

  // ---- conversion ---------------------------------------------------------------------------

  /**
   * Move to a device or convert the dtype (PyTorch's `.to`); returns this tensor when nothing changes.
   * @example const g = x.to('gpu'); const d = x.to('float64');
   */
  to(target: Device | DType): Tensor {
    if ((DTYPES as readonly string[]).includes(target)) return cast(this, target as DType);
    if (target === 'cpu' || target === 'gpu') return toDevice(this, target);
    throw new Error(`to: unknown device or dtype '${target}' (devices: cpu, gpu; dtypes: ${DTYPES.join(', ')})`);
  }
  /** Copy to a device, awaiting the values (GPU to CPU); no autograd. */
  toAsync(device: Device): Promise<Tensor> { return toAsync(this, device); }
  /** Resolves once the values are present (they arrive later after `to('cpu')` from the GPU). */
  ready(): Promise<this> { return ready(this) as Promise<this>; }
  /** `to('cpu')`. */
  cpu(): Tensor { return this.to('cpu'); }
  /** `to('gpu')`. */
  gpu(): Tensor { return this.to('gpu'); }
  /** `to('float32')`. */
  float(): Tensor { return this.to('float32'); }
  /** `to('float64')` (CPU only). */
  double(): Tensor { return this.to('float64'); }
  /** `to('int32')` (fractions truncate toward zero). */
  int(): Tensor { return this.to('int32'); }
  /** `to('bool')`: non-zero is true. */
  bool(): Tensor { return this.to('bool'); }
  /** A contiguous copy that stays in the graph. */
  clone(): Tensor { return mv.clone(this); }
  /** This tensor when already contiguous, else a contiguous copy (in the graph). */
  contiguous(): Tensor { return mv.contiguous(this); }
  /**
   * Write `src` into this tensor in place (PyTorch's `copy_`): from any device, cast to this dtype,
   * broadcast to this shape; this may be a view. Not recorded for autograd; a leaf that requires
   * gradients is written only inside `noGrad`. How new inputs reach a captured graph.
   * @example x.copy_(batch.x)
   */
  copy_(src: Tensor): this {
    if (this.requiresGradFlag && isGradEnabled()) throw new Error(`copy_: a tensor that requires gradients (shape ${fmt(this.shape)}) is written in place only inside noGrad()`);
    noGrad(() => mv.copyInto(this, src));
    return this;
  }

  /** Ones of this shape, dtype and device. */
  onesLike(): Tensor { return fullLike(this, 1); }
  /** Zeros of this shape, dtype and device. */
  zerosLike(): Tensor { return fullLike(this, 0); }

  // ---- elementwise ----------------------------------------------------------------------------

  /** Elementwise `this + other` with broadcasting. @example x.add(1); a.add(b) */
  add(other: TensorLike): Tensor { return bin.add(this, other); }
  /** Elementwise `this - other` with broadcasting. */
  sub(other: TensorLike): Tensor { return bin.sub(this, other); }
  /** Elementwise `this * other` with broadcasting. @example x.mul(0.5) */
  mul(other: TensorLike): Tensor { return bin.mul(this, other); }
  /** Elementwise true division (integers give float32, as PyTorch). */
  div(other: TensorLike): Tensor { return bin.div(this, other); }
  /** Elementwise power. @example x.pow(2) */
  pow(exponent: TensorLike): Tensor { return bin.pow(this, exponent); }
  /** Elementwise larger of the two (NaN propagates). */
  maximum(other: TensorLike): Tensor { return bin.maximum(this, other); }
  /** Elementwise smaller of the two (NaN propagates). */
  minimum(other: TensorLike): Tensor { return bin.minimum(this, other); }
  /** Elementwise `==` as a bool tensor. */
  eq(other: TensorLike): Tensor { return bin.eq(this, other); }
  /** Elementwise `!=` as a bool tensor. */
  ne(other: TensorLike): Tensor { return bin.ne(this, other); }
  /** Elementwise `<` as a bool tensor. */
  lt(other: TensorLike): Tensor { return bin.lt(this, other); }
  /** Elementwise `<=` as a bool tensor. */
  le(other: TensorLike): Tensor { return bin.le(this, other); }
  /** Elementwise `>` as a bool tensor. @example x.gt(0) */
  gt(other: TensorLike): Tensor { return bin.gt(this, other); }
  /** Elementwise `>=` as a bool tensor. */
  ge(other: TensorLike): Tensor { return bin.ge(this, other); }
  /** Elementwise logical and, as a bool tensor. */
  logicalAnd(other: TensorLike): Tensor { return bin.logicalAnd(this, other); }
  /** Elementwise logical or, as a bool tensor. */
  logicalOr(other: TensorLike): Tensor { return bin.logicalOr(this, other); }
  /** Elementwise logical not, as a bool tensor. */
  logicalNot(): Tensor { return un.logicalNot(this); }
  /** `where(cond, this, other)`: this where cond holds, else other. */
  where(cond: TensorLike, other: TensorLike): Tensor { return bin.where(cond, this, other); }
  /** `value` where `mask` (bool, broadcast) holds, this elsewhere. @example scores.maskedFill(mask.eq(0), -Infinity) */
  maskedFill(mask: TensorLike, value: TensorLike): Tensor { return idx.maskedFill(this, mask, value); }

  /** Elementwise `-x`. */
  neg(): Tensor { return un.neg(this); }
  /** Elementwise e^x. */
  exp(): Tensor { return un.exp(this); }
  /** Elementwise natural logarithm. */
  log(): Tensor { return un.log(this); }
  /** Elementwise square root. */
  sqrt(): Tensor { return un.sqrt(this); }
  /** Elementwise 1 / sqrt(x). */
  rsqrt(): Tensor { return un.rsqrt(this); }
  /** Elementwise x². */
  square(): Tensor { return bin.mul(this, this); }
  /** Elementwise 1 / x. */
  reciprocal(): Tensor { return bin.div(1, this); }
  /** Elementwise hyperbolic tangent. */
  tanh(): Tensor { return un.tanh(this); }
  /** Elementwise 1 / (1 + e^-x). */
  sigmoid(): Tensor { return un.sigmoid(this); }
  /** Elementwise max(x, 0). */
  relu(): Tensor { return un.relu(this); }
  /** GELU, exact (erf) by default or the tanh approximation (GPT-2's gelu_new). @example x.gelu({ approximate: 'tanh' }) */
  gelu(options?: { approximate?: 'none' | 'tanh' }): Tensor { return comp.gelu(this, options); }
  /** Elementwise |x|. */
  abs(): Tensor { return un.abs(this); }
  /** Elementwise -1, 0 or 1. */
  sign(): Tensor { return un.sign(this); }
  /** Elementwise error function. */
  erf(): Tensor { return un.erf(this); }
  /** Elementwise sine. */
  sin(): Tensor { return un.sin(this); }
  /** Elementwise cosine. */
  cos(): Tensor { return un.cos(this); }
  /** Clamp into [min, max] (either may be null). @example x.clamp(0, 1) */
  clamp(min?: number | null, max?: number | null): Tensor { return un.clamp(this, min, max); }

  // ---- reductions -----------------------------------------------------------------------------

  /** Sum over `dim` (a dim, a list, or all when omitted). @example x.sum(-1, true) */
  sum(dim?: number | readonly number[], keepdim = false): Tensor { return red.sum(this, dim, keepdim); }
  /** Mean over `dim` (a dim, a list, or all); integers average as float32. @example x.mean(-1, true) */
  mean(dim?: number | readonly number[], keepdim = false): Tensor { return red.mean(this, dim, keepdim); }
  /**
   * The largest element, or along `dim` the largest values and their indices (PyTorch's `max`).
   * @example const { values, indices } = logits.max(-1);
   */
  max(): Tensor;
  max(dim: number, keepdim?: boolean): ValuesAndIndices;
  max(dim?: number, keepdim = false): Tensor | ValuesAndIndices { return dim === undefined ? red.max(this) : red.max(this, dim, keepdim); }
  /** The smallest element, or along `dim` the smallest values and their indices. */
  min(): Tensor;
  min(dim: number, keepdim?: boolean): ValuesAndIndices;
  min(dim?: number, keepdim = false): Tensor | ValuesAndIndices { return dim === undefined ? red.min(this) : red.min(this, dim, keepdim); }
  /** Largest values over `dim` (one, several or all), values only. @example x.amax(-1, true) */
  amax(dim?: number | readonly number[], keepdim = false): Tensor { return red.amax(this, dim, keepdim); }
  /** Smallest values over `dim` (one, several or all), values only. */
  amin(dim?: number | readonly number[], keepdim = false): Tensor { return red.amin(this, dim, keepdim); }
  /** Index (int32) of the largest value along `dim`, or of the flattened tensor. @example logits.argmax(-1) */
  argmax(dim?: number, keepdim = false): Tensor { return red.argmax(this, dim, keepdim); }
  /** Index (int32) of the smallest value along `dim`, or of the flattened tensor. */
  argmin(dim?: number, keepdim = false): Tensor { return red.argmin(this, dim, keepdim); }
  /** Variance with Bessel's correction by default (`{correction: 0}` for the biased one). */
  var(dim?: number | readonly number[], options: { correction?: number; keepdim?: boolean } = {}): Tensor {
    return red.variance(this, dim, options);
  }
  /** Standard deviation, with Bessel's correction by default (`{ correction: 0 }` for the biased one). */
  std(dim?: number | readonly number[], options: { correction?: number; keepdim?: boolean } = {}): Tensor {
    return red.variance(this, dim, options).sqrt();
  }
  /** Softmax along `dim`. @example logits.softmax(-1) */
  softmax(dim: number): Tensor { return comp.softmax(this, dim); }
  /** Log of the softmax along `dim`, computed stably. */
  logSoftmax(dim: number): Tensor { return comp.logSoftmax(this, dim); }

  // ---- linear algebra -------------------------------------------------------------------------

  /** Matrix product with PyTorch's rules (1-D, 2-D, batched with broadcasting). */
  matmul(other: Tensor): Tensor { return matmul(this, other); }

  // ---- shape and indexing ---------------------------------------------------------------------

  /** Same memory, new shape (one dim may be -1); fails when the layout does not allow it. */
  view(...shape: number[] | [readonly number[]]): Tensor { return mv.view(this, mv.shapeArgs(shape)); }
  /** `view` when possible, else a copy. */
  reshape(...shape: number[] | [readonly number[]]): Tensor { return mv.reshape(this, mv.shapeArgs(shape)); }
  /** Reorder the dims (a view). @example x.permute(0, 2, 1) */
  permute(...dims: number[] | [readonly number[]]): Tensor { return mv.permute(this, mv.shapeArgs(dims)); }
  /** Swap two dims (a view). @example k.transpose(-2, -1) */
  transpose(dim0: number, dim1: number): Tensor { return mv.transpose(this, dim0, dim1); }
  /** Move one dim to another position (a view). */
  movedim(from: number, to: number): Tensor { return mv.movedim(this, from, to); }
  /** Transpose of a 2-D tensor (all dims reversed otherwise, as `.T`). */
  get T(): Tensor { return mv.permute(this, [...Array(this.ndim).keys()].reverse()); }
  /** Swap the last two dims. */
  get mT(): Tensor { return mv.transpose(this, -2, -1); }
  /** Broadcast size-1 dims to `shape` without copying (-1 keeps a dim). */
  expand(...shape: number[] | [readonly number[]]): Tensor { return mv.expand(this, mv.shapeArgs(shape)); }
  /** `expand` to `other`'s shape. */
  expandAs(other: Tensor): Tensor { return mv.expand(this, other.shape); }
  /** Merge dims startDim..endDim into one. @example x.flatten(1) */
  flatten(startDim = 0, endDim = -1): Tensor { return mv.flatten(this, startDim, endDim); }
  /** Remove size-1 dims (all, or the ones given). */
  squeeze(dim?: number | readonly number[]): Tensor { return mv.squeeze(this, dim); }
  /** Insert a size-1 dim at `dim`. @example x.unsqueeze(0) */
  unsqueeze(dim: number): Tensor { return mv.unsqueeze(this, dim); }
  /** Python-style slice along one dim: `x.slice(1, -8)` is `x[:, -8:]`. */
  slice(dim: number, start?: number | null, end?: number | null, step = 1): Tensor { return mv.slice(this, dim, start, end, step); }
  /** `length` positions of `dim` from `start` (a view). */
  narrow(dim: number, start: number, length: number): Tensor { return mv.narrow(this, dim, start, length); }
  /** Index one position of `dim`, removing it: `x.select(1, -1)` is `x[:, -1]`. */
  select(dim: number, index: number): Tensor { return mv.select(this, dim, index); }
  /** Pieces of `splitSize` along `dim` (or of the given sizes). @example const [q, k, v] = qkv.split(C, 2) */
  split(splitSize: number | readonly number[], dim = 0): Tensor[] { return mv.split(this, splitSize, dim); }
  /** `chunks` nearly equal pieces along `dim`. */
  chunk(chunks: number, dim = 0): Tensor[] { return mv.chunk(this, chunks, dim); }
  /** The positions `index` (int32, 1-D) of `dim`. */
  indexSelect(dim: number, index: Tensor): Tensor { return idx.indexSelect(this, dim, index); }
  /** `out[i][j] = this[i][index[i][j]]` along `dim` (PyTorch's gather). */
  gather(dim: number, index: Tensor): Tensor { return idx.gather(this, dim, index); }
  /** A copy with `src` added at the positions `index` along `dim` (duplicates add up). */
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor { return idx.scatterAdd(this, dim, index, src); }
}
