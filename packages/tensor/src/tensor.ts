import type { DType, TypedArray } from './dtype.ts';
import { DTYPES } from './dtype.ts';
import type { Device, Storage, View } from './backend/types.ts';
import { getBackend } from './backend/registry.ts';
import { contiguousStrides, fmt, numel, isContiguous, type Shape } from './shape.ts';
import { trackTensor, keep } from './memory.ts';
import { backward, type BackwardOptions, type Node } from './autograd/tape.ts';
import { isGradEnabled } from './autograd/mode.ts';
import * as un from './ops/unary.ts';
import * as bin from './ops/binary.ts';
import * as red from './ops/reduce.ts';
import * as mv from './ops/movement.ts';
import * as idx from './ops/indexing.ts';
import * as comp from './ops/composite.ts';
import { matmul } from './ops/matmul.ts';
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

  get device(): Device { return this.storage.device; }
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
    else {
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
  cpu(): Tensor { return this.to('cpu'); }
  gpu(): Tensor { return this.to('gpu'); }
  float(): Tensor { return this.to('float32'); }
  double(): Tensor { return this.to('float64'); }
  int(): Tensor { return this.to('int32'); }
  bool(): Tensor { return this.to('bool'); }
  /** A contiguous copy that stays in the graph. */
  clone(): Tensor { return mv.clone(this); }
  contiguous(): Tensor { return mv.contiguous(this); }

  onesLike(): Tensor { return fullLike(this, 1); }
  zerosLike(): Tensor { return fullLike(this, 0); }

  // ---- elementwise ----------------------------------------------------------------------------

  add(other: TensorLike): Tensor { return bin.add(this, other); }
  sub(other: TensorLike): Tensor { return bin.sub(this, other); }
  mul(other: TensorLike): Tensor { return bin.mul(this, other); }
  div(other: TensorLike): Tensor { return bin.div(this, other); }
  pow(exponent: TensorLike): Tensor { return bin.pow(this, exponent); }
  maximum(other: TensorLike): Tensor { return bin.maximum(this, other); }
  minimum(other: TensorLike): Tensor { return bin.minimum(this, other); }
  eq(other: TensorLike): Tensor { return bin.eq(this, other); }
  ne(other: TensorLike): Tensor { return bin.ne(this, other); }
  lt(other: TensorLike): Tensor { return bin.lt(this, other); }
  le(other: TensorLike): Tensor { return bin.le(this, other); }
  gt(other: TensorLike): Tensor { return bin.gt(this, other); }
  ge(other: TensorLike): Tensor { return bin.ge(this, other); }
  logicalAnd(other: TensorLike): Tensor { return bin.logicalAnd(this, other); }
  logicalOr(other: TensorLike): Tensor { return bin.logicalOr(this, other); }
  logicalNot(): Tensor { return un.logicalNot(this); }
  /** `where(cond, this, other)`: this where cond holds, else other. */
  where(cond: TensorLike, other: TensorLike): Tensor { return bin.where(cond, this, other); }
  maskedFill(mask: TensorLike, value: TensorLike): Tensor { return idx.maskedFill(this, mask, value); }

  neg(): Tensor { return un.neg(this); }
  exp(): Tensor { return un.exp(this); }
  log(): Tensor { return un.log(this); }
  sqrt(): Tensor { return un.sqrt(this); }
  rsqrt(): Tensor { return un.rsqrt(this); }
  square(): Tensor { return bin.mul(this, this); }
  reciprocal(): Tensor { return bin.div(1, this); }
  tanh(): Tensor { return un.tanh(this); }
  sigmoid(): Tensor { return un.sigmoid(this); }
  relu(): Tensor { return un.relu(this); }
  gelu(options?: { approximate?: 'none' | 'tanh' }): Tensor { return comp.gelu(this, options); }
  abs(): Tensor { return un.abs(this); }
  sign(): Tensor { return un.sign(this); }
  erf(): Tensor { return un.erf(this); }
  sin(): Tensor { return un.sin(this); }
  cos(): Tensor { return un.cos(this); }
  clamp(min?: number | null, max?: number | null): Tensor { return un.clamp(this, min, max); }

  // ---- reductions -----------------------------------------------------------------------------

  /** Sum over `dim` (a dim, a list, or all when omitted). @example x.sum(-1, true) */
  sum(dim?: number | readonly number[], keepdim = false): Tensor { return red.sum(this, dim, keepdim); }
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
  argmax(dim?: number, keepdim = false): Tensor { return red.argmax(this, dim, keepdim); }
  argmin(dim?: number, keepdim = false): Tensor { return red.argmin(this, dim, keepdim); }
  /** Variance with Bessel's correction by default (`{correction: 0}` for the biased one). */
  var(dim?: number | readonly number[], options: { correction?: number; keepdim?: boolean } = {}): Tensor {
    return red.variance(this, dim, options);
  }
  std(dim?: number | readonly number[], options: { correction?: number; keepdim?: boolean } = {}): Tensor {
    return red.variance(this, dim, options).sqrt();
  }
  softmax(dim: number): Tensor { return comp.softmax(this, dim); }
  logSoftmax(dim: number): Tensor { return comp.logSoftmax(this, dim); }

  // ---- linear algebra -------------------------------------------------------------------------

  /** Matrix product with PyTorch's rules (1-D, 2-D, batched with broadcasting). */
  matmul(other: Tensor): Tensor { return matmul(this, other); }

  // ---- shape and indexing ---------------------------------------------------------------------

  /** Same memory, new shape (one dim may be -1); fails when the layout does not allow it. */
  view(...shape: number[] | [readonly number[]]): Tensor { return mv.view(this, mv.shapeArgs(shape)); }
  /** `view` when possible, else a copy. */
  reshape(...shape: number[] | [readonly number[]]): Tensor { return mv.reshape(this, mv.shapeArgs(shape)); }
  permute(...dims: number[] | [readonly number[]]): Tensor { return mv.permute(this, mv.shapeArgs(dims)); }
  transpose(dim0: number, dim1: number): Tensor { return mv.transpose(this, dim0, dim1); }
  /** Move one dim to another position (a view). */
  movedim(from: number, to: number): Tensor { return mv.movedim(this, from, to); }
  /** Transpose of a 2-D tensor (all dims reversed otherwise, as `.T`). */
  get T(): Tensor { return mv.permute(this, [...Array(this.ndim).keys()].reverse()); }
  /** Swap the last two dims. */
  get mT(): Tensor { return mv.transpose(this, -2, -1); }
  expand(...shape: number[] | [readonly number[]]): Tensor { return mv.expand(this, mv.shapeArgs(shape)); }
  expandAs(other: Tensor): Tensor { return mv.expand(this, other.shape); }
  flatten(startDim = 0, endDim = -1): Tensor { return mv.flatten(this, startDim, endDim); }
  squeeze(dim?: number | readonly number[]): Tensor { return mv.squeeze(this, dim); }
  unsqueeze(dim: number): Tensor { return mv.unsqueeze(this, dim); }
  /** Python-style slice along one dim: `x.slice(1, -8)` is `x[:, -8:]`. */
  slice(dim: number, start?: number | null, end?: number | null, step = 1): Tensor { return mv.slice(this, dim, start, end, step); }
  narrow(dim: number, start: number, length: number): Tensor { return mv.narrow(this, dim, start, length); }
  /** Index one position of `dim`, removing it: `x.select(1, -1)` is `x[:, -1]`. */
  select(dim: number, index: number): Tensor { return mv.select(this, dim, index); }
  split(splitSize: number | readonly number[], dim = 0): Tensor[] { return mv.split(this, splitSize, dim); }
  chunk(chunks: number, dim = 0): Tensor[] { return mv.chunk(this, chunks, dim); }
  indexSelect(dim: number, index: Tensor): Tensor { return idx.indexSelect(this, dim, index); }
  gather(dim: number, index: Tensor): Tensor { return idx.gather(this, dim, index); }
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor { return idx.scatterAdd(this, dim, index, src); }
}
