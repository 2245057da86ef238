import { allocArray, assertDType, checkedScalar, type DType, type TypedArray } from '../dtype.ts';
import { fmt, numel, type Shape } from '../shape.ts';
import type { Device, Kernel } from '../backend/types.ts';
import { getBackend, getDefaultDevice } from '../backend/registry.ts';
import { Tensor } from '../tensor.ts';
import { runKernel } from './apply.ts';
import { pendingStorage, type CpuStorage } from '../backend/cpu/backend.ts';
import { threadsFor, wasmOperands } from '../backend/cpu/rows.ts';
import { hash2, nextDrawKey, normalAt, uniformAt, umulhi } from '../random.ts';
import { cachedSource, computeType, entry, f32bits, header, store } from '../backend/webgpu/codegen.ts';
import { where } from './binary.ts';

/** Where and how a new tensor is made. */
export interface TensorOptions {
  /** Element type (default float32; int32 for integer data given to `tensor`). */
  dtype?: DType;
  /** 'cpu' or 'gpu' (default: `getDefaultDevice()`). */
  device?: Device;
  /** Record operations on it for `backward()` (floating point only). */
  requiresGrad?: boolean;
}

export type NestedArray = number | boolean | readonly NestedArray[];

function finish(t: Tensor, options: TensorOptions): Tensor {
  if (options.requiresGrad) t.requiresGrad = true;
  return t;
}

function deviceOf(options: TensorOptions): Device {
  const d = options.device ?? getDefaultDevice();
  if (d !== 'cpu' && d !== 'gpu') throw new Error(`tensor: unknown device '${d}' (valid: cpu, gpu)`);
  return d;
}

function checkShape(op: string, shape: Shape): void {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new Error(`${op}: shape must be an array of non-negative integers, got ${Array.isArray(shape) ? fmt(shape) : String(shape)}`);
  }
}

/** A tensor from host data already laid out row-major. */
export function fromArray(data: TypedArray | readonly number[], shape: Shape, options: TensorOptions = {}): Tensor {
  const dtype = options.dtype ?? 'float32';
  assertDType(dtype, 'tensor');
  checkShape('tensor', shape);
  if (data.length !== numel(shape)) throw new Error(`tensor: ${data.length} values do not fill shape ${fmt(shape)} (${numel(shape)} elements)`);
  const arr = allocArray(dtype, data.length);
  if (dtype === 'bool') for (let i = 0; i < data.length; i++) arr[i] = data[i] ? 1 : 0;
  else if (dtype === 'int32' && !(data instanceof Int32Array)) toInt32(data, arr as Int32Array);
  else arr.set(data as ArrayLike<number>);
  return finish(new Tensor(getBackend(deviceOf(options)).upload(dtype, arr), shape), options);
}

/** Integers as int32, truncating fractions toward zero as PyTorch does; NaN, ±Infinity and values past int32 are errors. */
function toInt32(data: ArrayLike<number>, out: Int32Array): void {
  for (let i = 0; i < data.length; i++) {
    const v = Math.trunc(data[i]!);
    if (!(v >= -2147483648 && v <= 2147483647)) {
      throw new Error(`tensor: value ${data[i]} at flat index ${i} cannot be converted to int32 (range -2147483648..2147483647, finite)`);
    }
    out[i] = v;
  }
}

function dtypeOfTyped(data: TypedArray | ArrayBufferView): DType {
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int32Array || data instanceof Int16Array || data instanceof Int8Array || data instanceof Uint16Array) return 'int32';
  if (data instanceof Uint8Array) return 'int32';
  return 'float32';
}

/** Walk nested arrays, checking they are rectangular; returns shape and flat values. */
function flattenNested(data: NestedArray): { shape: number[]; flat: number[]; bools: boolean } {
  const shape: number[] = [];
  let probe: NestedArray = data;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = probe[0] as NestedArray;
    if (probe === undefined) break;
  }
  const flat: number[] = [];
  let bools = false;
  let numbers = false;
  const visit = (v: NestedArray, depth: number, path: string): void => {
    if (depth === shape.length) {
      if (typeof v === 'boolean') { bools = true; flat.push(v ? 1 : 0); return; }
      if (typeof v !== 'number') throw new Error(`tensor: expected a number at ${path || 'the top'}, got ${Array.isArray(v) ? 'an array' : typeof v}`);
      numbers = true;
      flat.push(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[depth]) {
      throw new Error(`tensor: ragged nested array at ${path || 'the top'}: expected length ${shape[depth]}, got ${Array.isArray(v) ? v.length : typeof v}`);
    }
    v.forEach((x, i) => visit(x, depth + 1, `${path}[${i}]`));
  };
  visit(data, 0, '');
  return { shape, flat, bools: bools && !numbers };
}

/**
 * A tensor from nested arrays (rectangular), a number, or a typed array with its shape (as an
 * option or as the second argument). As in PyTorch, integer values give int32 (usable as class
 * targets and indices), any fractional value gives float32, booleans give bool; `dtype` overrides,
 * and `requiresGrad` implies float32.
 * @example
 * tensor([[1, 2], [3, 4]])
 * tensor(ids, { dtype: 'int32' })
 * tensor(new Float32Array(6), { shape: [2, 3] })
 * tensor(new Float32Array(6), [2, 3], { device: 'gpu' })
 */
export function tensor(data: NestedArray | TypedArray, shapeOrOptions: Shape | (TensorOptions & { shape?: Shape }) = {}, moreOptions: TensorOptions = {}): Tensor {
  const options: TensorOptions & { shape?: Shape } = Array.isArray(shapeOrOptions) ? { ...moreOptions, shape: shapeOrOptions as Shape } : (shapeOrOptions as TensorOptions & { shape?: Shape });
  if (ArrayBuffer.isView(data)) {
    const typed = data as TypedArray;
    const shape = options.shape ?? [typed.length];
    return fromArray(typed, shape, { ...options, dtype: options.dtype ?? dtypeOfTyped(typed) });
  }
  const { shape, flat, bools } = flattenNested(data as NestedArray);
  const int32Like = flat.length > 0 && flat.every((v) => Number.isInteger(v) && v >= -2147483648 && v <= 2147483647);
  const inferred: DType = bools ? 'bool' : !options.requiresGrad && int32Like ? 'int32' : 'float32';
  const target = options.shape && numel(options.shape) === flat.length ? options.shape : shape;
  return fromArray(flat, target, { ...options, dtype: options.dtype ?? inferred });
}

const fillKernel: Kernel<{ value: number }> = {
  name: 'fill',
  cpu: (outs, _inputs, { value }) => { outs[0]!.fill(value); },
  gpu: (ctx, _inputs, [out], { value }) => {
    const n = numel(out!.shape);
    if (n === 0) return;
    const t = computeType(out!.dtype);
    const v = t === 'f32' ? 'pf(1u)' : t === 'i32' ? 'bitcast<i32>(P[1])' : 'P[1]';
    const bits = t === 'f32' ? f32bits(value) : value >>> 0;
    const code = cachedSource(`fill:${out!.dtype}`, () => `${header([{ name: 'out', dtype: out!.dtype, write: true }])}
${entry(`  if (i >= P[0]) { return; }
  out[i] = ${store(out!.dtype, v)};`)}`);
    ctx.dispatch({ code, bindings: [{ output: 0 }], params: [n, bits], workgroups: { threads: n, size: 256 } });
  },
};

/** A tensor of `shape` filled with `value`. @example full([2, 3], 7) */
export function full(shape: Shape, value: number | boolean, options: TensorOptions = {}): Tensor {
  checkShape('full', shape);
  const dtype = options.dtype ?? (typeof value === 'boolean' ? 'bool' : 'float32');
  assertDType(dtype, 'full');
  const v = checkedScalar('full', typeof value === 'boolean' ? Number(value) : value, dtype);
  const [t] = runKernel(fillKernel, [], [{ shape, dtype }], { value: v }, deviceOf(options));
  return finish(t!, options);
}

/**
 * A shape given the way PyTorch users write it: `(2, 3)`, `([2, 3])`, either followed by options.
 */
export type ShapeArgs = [shape: Shape, options?: TensorOptions] | number[] | [...dims: number[], options: TensorOptions];

/** Split creation-function arguments into a shape and options. */
export function shapeArgs(op: string, args: readonly unknown[]): [Shape, TensorOptions] {
  let options: TensorOptions = {};
  let rest = args;
  const last = args[args.length - 1];
  if (last !== undefined && typeof last === 'object' && !Array.isArray(last)) {
    options = last as TensorOptions;
    rest = args.slice(0, -1);
  }
  if (rest.length === 1 && Array.isArray(rest[0])) return [rest[0] as Shape, options];
  if (rest.every((d) => typeof d === 'number')) return [rest as Shape, options];
  throw new Error(`${op}: expected a shape as numbers (${op}(2, 3)) or an array (${op}([2, 3])), optionally followed by options, got (${rest.map((a) => JSON.stringify(a)).join(', ')})`);
}

/** Zeros of a shape. @example zeros(2, 3); zeros([2, 3], { dtype: 'float64' }) */
export function zeros(...args: ShapeArgs): Tensor {
  const [shape, options] = shapeArgs('zeros', args);
  return full(shape, 0, options);
}
/** Ones of a shape. @example ones(2, 3); ones([4], { device: 'gpu' }) */
export function ones(...args: ShapeArgs): Tensor {
  const [shape, options] = shapeArgs('ones', args);
  return full(shape, 1, options);
}
/** Same as `zeros` (memory is always initialised). @example empty(2, 3) */
export function empty(...args: ShapeArgs): Tensor {
  const [shape, options] = shapeArgs('empty', args);
  return full(shape, 0, options);
}

const like = (x: Tensor, options: TensorOptions): TensorOptions => ({ dtype: x.dtype, device: x.device, ...options });
/** `value` in the shape (and by default dtype and device) of `x`. @example fullLike(x, 7) */
export const fullLike = (x: Tensor, value: number, options: TensorOptions = {}) => full(x.shape, value, like(x, options));
/** Zeros shaped like `x`. @example zerosLike(x) */
export const zerosLike = (x: Tensor, options: TensorOptions = {}) => full(x.shape, 0, like(x, options));
/** Ones shaped like `x`. @example onesLike(x) */
export const onesLike = (x: Tensor, options: TensorOptions = {}) => full(x.shape, 1, like(x, options));

/**
 * Evenly spaced values in [start, end): `arange(5)`, `arange(1, 10, 2)`.
 * int32 when every argument is an integer, else float32.
 */
export function arange(start: number, end?: number, step?: number | TensorOptions, options: TensorOptions = {}): Tensor {
  if (typeof step === 'object') { options = step; step = undefined; }
  if (end === undefined) { end = start; start = 0; }
  const s = step ?? 1;
  if (s === 0 || !Number.isFinite(s)) throw new Error(`arange: step must be a non-zero finite number, got ${s}`);
  const n = Math.max(0, Math.ceil((end - start) / s));
  const allInt = [start, end, s].every(Number.isInteger);
  const dtype = options.dtype ?? (allInt ? 'int32' : 'float32');
  if (dtype === 'int32' && allInt && deviceOf(options) === 'gpu' && Math.abs(start) + n * Math.abs(s) < 2 ** 31) {
    // positions on the GPU come from a kernel, not an upload (which would end the compute pass)
    const [t] = runKernel(arangeKernel, [], [{ shape: [n], dtype }], { start, step: s }, 'gpu');
    return finish(t!, options);
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = start + i * s;
  return fromArray(values, [n], { ...options, dtype });
}

/** int32 start + i·step on the GPU (the CPU never runs it: arange fills host memory there). */
const arangeKernel: Kernel<{ start: number; step: number }> = {
  name: 'arange',
  cpu: (outs, _inputs, { start, step }) => { const o = outs[0]!; for (let i = 0; i < o.length; i++) o[i] = start + i * step; },
  gpu: (ctx, _inputs, [out], { start, step }) => {
    const n = numel(out!.shape);
    if (n === 0) return;
    const code = cachedSource('arange', () => `${header([{ name: 'out', dtype: 'int32', write: true }])}
${entry(`  if (i >= P[0]) { return; }
  out[i] = bitcast<i32>(P[1]) + i32(i) * bitcast<i32>(P[2]);`)}`);
    ctx.dispatch({ code, bindings: [{ output: 0 }], params: [n, start >>> 0, step >>> 0], workgroups: { threads: n, size: 256 } });
  },
};

/** `steps` values from start to end inclusive. @example linspace(0, 1, 5) */
export function linspace(start: number, end: number, steps: number, options: TensorOptions = {}): Tensor {
  if (!Number.isInteger(steps) || steps < 0) throw new Error(`linspace: steps must be a non-negative integer, got ${steps}`);
  const values = new Float64Array(steps);
  const delta = steps > 1 ? (end - start) / (steps - 1) : 0;
  for (let i = 0; i < steps; i++) values[i] = i === steps - 1 && steps > 1 ? end : start + i * delta;
  return fromArray(values, [steps], { ...options, dtype: options.dtype ?? 'float32' });
}

/** base^linspace(start, end, steps). @example logspace(0, 3, 4) // 1, 10, 100, 1000 */
export function logspace(start: number, end: number, steps: number, base = 10, options: TensorOptions = {}): Tensor {
  const exps = linspace(start, end, steps, { dtype: 'float64', device: 'cpu' });
  const values = new Float64Array(steps);
  const e = getBackend('cpu').readSync!(exps);
  for (let i = 0; i < steps; i++) values[i] = Math.pow(base, e[i]!);
  return fromArray(values, [steps], { ...options, dtype: options.dtype ?? 'float32' });
}

/** Identity matrix n×m (m defaults to n). */
export function eye(n: number, m: number | TensorOptions = n, options: TensorOptions = {}): Tensor {
  if (typeof m === 'object') { options = m; m = n; }
  const values = new Float64Array(n * m);
  for (let i = 0; i < Math.min(n, m); i++) values[i * m + i] = 1;
  return fromArray(values, [n, m], { ...options, dtype: options.dtype ?? 'float32' });
}

function triangleMask(x: Tensor, diagonal: number, lower: boolean, op: string): Tensor {
  if (x.ndim < 2) throw new Error(`${op}: expected a tensor with at least 2 dims, got shape ${fmt(x.shape)}`);
  const R = x.shape[x.ndim - 2]!, C = x.shape[x.ndim - 1]!;
  const rows = arange(R, undefined, { device: x.device }).view([R, 1]);
  const cols = arange(C, undefined, { device: x.device }).view([1, C]);
  const offset = cols.sub(rows);
  return lower ? offset.le(diagonal) : offset.ge(diagonal);
}

/**
 * Lower triangle of the last two dims (others zeroed); `diagonal` shifts the edge.
 * @example tril(ones([T, T]))
 */
export function tril(x: Tensor, diagonal = 0): Tensor {
  return where(triangleMask(x, diagonal, true, 'tril'), x, 0);
}

/** Upper triangle of the last two dims. */
export function triu(x: Tensor, diagonal = 0): Tensor {
  return where(triangleMask(x, diagonal, false, 'triu'), x, 0);
}

export interface RandomAttrs {
  key: number;
  kind: 'uniform' | 'normal' | 'int';
  low: number;
  high: number;
}

/** Counter-based draws: element i depends only on (key, i), so every backend agrees. */
export const randomKernel: Kernel<RandomAttrs> = {
  name: 'random',
  cpu: (outs, _inputs, { key, kind, low, high }) => {
    const out = outs[0]!;
    const w = wasmOperands([], [out]);
    if (w !== null) {
      const code = kind === 'uniform' ? 0 : kind === 'normal' ? 1 : 2;
      w.rt.run('randomFill', [w.outs[0]!, out.length, key >>> 0, code, low, high, kind === 'int' ? (high - low) >>> 0 : 0], threadsFor(w.rt, out.length));
      return;
    }
    if (kind === 'uniform') for (let i = 0; i < out.length; i++) out[i] = low + (high - low) * uniformAt(key, i);
    else if (kind === 'normal') for (let i = 0; i < out.length; i++) out[i] = low + high * normalAt(key, i);
    else for (let i = 0; i < out.length; i++) out[i] = low + umulhi(hash2(key, i), high - low);
  },
  gpu: (ctx, _inputs, [out], { key, kind, low, high }) => {
    const n = numel(out!.shape);
    if (n === 0) return;
    const value = kind === 'uniform'
      ? 'pf(2u) + (pf(3u) - pf(2u)) * uniform_at(P[1], i)'
      : kind === 'normal'
        ? 'pf(2u) + pf(3u) * sqrt(-2.0 * log((f32(hash2(P[1], 2u * i) >> 8u) + 1.0) / 16777217.0)) * cos(6.283185307179586 * uniform_at(P[1], 2u * i + 1u))'
        : 'bitcast<i32>(P[2]) + i32(umulhi32(hash2(P[1], i), P[3]))';
    const params = kind === 'int' ? [n, key, low >>> 0, (high - low) >>> 0] : [n, key, f32bits(low), f32bits(high)];
    const code = cachedSource(`random:${kind}:${out!.dtype}`, () => `${header([{ name: 'out', dtype: out!.dtype, write: true }])}
${entry(`  if (i >= P[0]) { return; }
  out[i] = ${store(out!.dtype, value)};`)}`);
    ctx.dispatch({ code, bindings: [{ output: 0 }], params, workgroups: { threads: n, size: 256 }, keyWords: [1] });
  },
};

function draw(op: string, shape: Shape, attrs: Omit<RandomAttrs, 'key'>, options: TensorOptions, dtype: DType): Tensor {
  checkShape(op, shape);
  const [t] = runKernel(randomKernel, [], [{ shape, dtype }], { ...attrs, key: nextDrawKey() }, deviceOf(options));
  return finish(t!, options);
}

/** Uniform [0, 1) from the seeded generator. @example manualSeed(0); rand(2, 3) */
export function rand(...args: ShapeArgs): Tensor {
  const [shape, options] = shapeArgs('rand', args);
  return draw('rand', shape, { kind: 'uniform', low: 0, high: 1 }, options, options.dtype ?? 'float32');
}
/** Standard normal from the seeded generator. @example randn([4, 8], { device: 'gpu' }) */
export function randn(...args: ShapeArgs): Tensor {
  const [shape, options] = shapeArgs('randn', args);
  return draw('randn', shape, { kind: 'normal', low: 0, high: 1 }, options, options.dtype ?? 'float32');
}
/** Integers uniform in [low, high). @example randint(0, 10, [4]) */
export function randint(low: number, high: number, shape: Shape, options: TensorOptions = {}): Tensor {
  if (!Number.isInteger(low) || !Number.isInteger(high) || high <= low) {
    throw new Error(`randint: need integers low < high, got low=${low} high=${high}`);
  }
  return draw('randint', shape, { kind: 'int', low, high }, options, options.dtype ?? 'int32');
}
/** Uniform [0, 1) shaped like `x`. @example randLike(x) */
export const randLike = (x: Tensor, options: TensorOptions = {}) => rand(x.shape, like(x, options));
/** Standard normal shaped like `x`. @example randnLike(x) */
export const randnLike = (x: Tensor, options: TensorOptions = {}) => randn(x.shape, like(x, options));

/**
 * Copy to another device. `to('gpu')` uploads at once; `to('cpu')` from the GPU returns a CPU
 * tensor whose values arrive asynchronously: reads (`toArray`, `item`) wait for them, and
 * `await t.ready()` (or `await t.toAsync('cpu')`) makes it usable in CPU ops.
 */
export function toDevice(x: Tensor, device: Device): Tensor {
  x.assertLive('to');
  if (x.device === device) return x;
  if (x.node !== null && x.requiresGrad) {
    throw new Error(`to: cannot move a tensor that is part of an autograd graph from ${x.device} to ${device}; move leaves (parameters, inputs) before computing`);
  }
  let out: Tensor;
  if (x.device === 'cpu') out = new Tensor(getBackend(device).upload(x.dtype, getBackend('cpu').readSync!(x)), x.shape);
  else out = new Tensor(pendingStorage(x.dtype, x.numel(), getBackend(x.device).read(x)), x.shape);
  out.requiresGradFlag = x.requiresGrad;
  return out;
}

/** Copy to any device, awaiting the readback when the source is a GPU (no autograd). */
export async function toAsync(x: Tensor, device: Device): Promise<Tensor> {
  if (x.device === device) return x;
  const data = await x.data();
  return new Tensor(getBackend(device).upload(x.dtype, data), x.shape);
}

/** Wait until a tensor's values are present (after `to('cpu')` from the GPU); returns it. */
export async function ready(x: Tensor): Promise<Tensor> {
  const pending = (x.storage as CpuStorage).pending;
  if (pending) await pending;
  return x;
}
