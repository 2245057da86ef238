import type { DType } from '../dtype.ts';
import { isFloat } from '../dtype.ts';
import { broadcastShapes, type Shape } from '../shape.ts';
import type { CpuView, Kernel, View } from '../backend/types.ts';
import type { TypedArray } from '../dtype.ts';
import { collapse, contiguousStrides } from '../shape.ts';
import { threadsFor, wasmOperands } from '../backend/cpu/rows.ts';
import { mapBinary, mapTernary } from '../backend/cpu/elementwise.ts';
import { record } from '../autograd/tape.ts';
import type { Tensor, TensorLike } from '../tensor.ts';
import { coerceOperands, disposeIfUnrecorded, runKernel, sameDevice, scalarTensor } from './apply.ts';
import { computeType, elementwise } from '../backend/webgpu/codegen.ts';

/**
 * One elementwise binary primitive: scalar CPU function (an integer variant where wrapping
 * matters), WGSL expression over `a` and `b`, output dtype rule and vjp.
 */
export interface BinaryDef {
  cpu: (a: number, b: number) => number;
  cpuInt?: (a: number, b: number) => number;
  /** WGSL expression over `a` and `b` in their compute type `t`. */
  wgsl: (a: string, b: string, t: 'f32' | 'i32' | 'u32') => string;
  /** 'same': the promoted dtype; 'bool': comparisons; 'float': true division. */
  out: 'same' | 'bool' | 'float';
  vjp: ((g: Tensor, a: Tensor, b: Tensor, y: Tensor, needs: readonly boolean[]) => (Tensor | null)[]) | null;
}

const compare = (cpu: (a: number, b: number) => boolean, op: string): BinaryDef & { vjp: null } => ({
  cpu: (a, b) => (cpu(a, b) ? 1 : 0),
  wgsl: (a, b) => `select(0u, 1u, ${a} ${op} ${b})`,
  out: 'bool',
  vjp: null,
});

/** Gradient of max/min: to the winner, split evenly on ties (as PyTorch does). */
function pickVjp(win: (a: Tensor, b: Tensor) => Tensor) {
  return (g: Tensor, a: Tensor, b: Tensor, _y: Tensor, needs: readonly boolean[]) => {
    const tie = a.eq(b);
    const half = g.mul(0.5);
    return [
      needs[0] ? where(win(a, b), g, where(tie, half, 0)) : null,
      needs[1] ? where(win(b, a), g, where(tie, half, 0)) : null,
    ];
  };
}

export const binaryDefs = {
  add: { cpu: (a, b) => a + b, wgsl: (a, b) => `${a} + ${b}`, out: 'same', vjp: (g) => [g, g] },
  sub: { cpu: (a, b) => a - b, wgsl: (a, b) => `${a} - ${b}`, out: 'same', vjp: (g, _a, _b, _y, n) => [g, n[1] ? g.neg() : null] },
  mul: {
    cpu: (a, b) => a * b,
    cpuInt: Math.imul,
    wgsl: (a, b) => `${a} * ${b}`,
    out: 'same',
    vjp: (g, a, b, _y, n) => [n[0] ? g.mul(b) : null, n[1] ? g.mul(a) : null],
  },
  div: {
    cpu: (a, b) => a / b,
    wgsl: (a, b) => `${a} / ${b}`,
    out: 'float',
    vjp: (g, _a, b, y, n) => [n[0] ? g.div(b) : null, n[1] ? g.mul(y).div(b).neg() : null],
  },
  pow: {
    cpu: Math.pow,
    wgsl: (a, b, t) => (t === 'i32' ? `pow_i32(${a}, ${b})` : `pow_safe(${a}, ${b})`),
    out: 'same',
    vjp: (g, a, b, y, n) => [
      n[0] ? where(b.eq(0), 0, g.mul(b).mul(a.pow(b.sub(1)))) : null,
      n[1] ? g.mul(y).mul(where(a.gt(0), a, 1).log()) : null,
    ],
  },
  maximum: { cpu: (a, b) => (a !== a || b !== b ? NaN : a > b ? a : b), wgsl: (a, b) => `max(${a}, ${b})`, out: 'same', vjp: pickVjp((a, b) => a.gt(b)) },
  minimum: { cpu: (a, b) => (a !== a || b !== b ? NaN : a < b ? a : b), wgsl: (a, b) => `min(${a}, ${b})`, out: 'same', vjp: pickVjp((a, b) => a.lt(b)) },
  eq: compare((a, b) => a === b, '=='),
  ne: compare((a, b) => a !== b, '!='),
  lt: compare((a, b) => a < b, '<'),
  le: compare((a, b) => a <= b, '<='),
  gt: compare((a, b) => a > b, '>'),
  ge: compare((a, b) => a >= b, '>='),
  logicalAnd: { cpu: (a, b) => (a !== 0 && b !== 0 ? 1 : 0), wgsl: (a, b) => `select(0u, 1u, (${a} != 0) && (${b} != 0))`, out: 'bool', vjp: null },
  logicalOr: { cpu: (a, b) => (a !== 0 || b !== 0 ? 1 : 0), wgsl: (a, b) => `select(0u, 1u, (${a} != 0) || (${b} != 0))`, out: 'bool', vjp: null },
} satisfies Record<string, BinaryDef>;

export type BinaryOp = keyof typeof binaryDefs;

/** A broadcast view of `t` (stride 0 along expanded dims); not recorded: the tape sums back. */
export function broadcastView(t: View, shape: Shape): View {
  const lead = shape.length - t.shape.length;
  const strides = shape.map((d, i) => {
    const j = i - lead;
    if (j < 0) return 0;
    return t.shape[j] === 1 && d !== 1 ? 0 : t.strides[j]!;
  });
  return { storage: t.storage, shape, strides, offset: t.offset, dtype: t.dtype };
}

const kernels = new Map<string, Kernel<null>>();

/** Ops with a WebAssembly SIMD loop (the op code binaryF32 takes). */
const SIMD_OPS: Partial<Record<BinaryOp, number>> = { add: 0, sub: 1, mul: 2, div: 3, maximum: 4, minimum: 5 };

/**
 * float32 operands in the heap whose broadcast pattern collapses to rows × cols with column
 * strides 0 or 1 (same shape, a scalar, a repeated row, a repeated column) run the SIMD loop.
 */
function binaryWasm(op: number, out: TypedArray, a: CpuView, b: CpuView): boolean {
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return false;
  const { dims, strideSets } = collapse(a.shape, [contiguousStrides(a.shape), a.strides, b.strides]);
  if (dims.length > 2) return false;
  const cols = dims[dims.length - 1] ?? 1;
  const rows = dims.length === 2 ? dims[0]! : 1;
  const last = dims.length - 1;
  const col = (k: number) => (last >= 0 ? strideSets[k]![last]! : 0);
  const row = (k: number) => (dims.length === 2 ? strideSets[k]![0]! : 0);
  if (col(1) > 1 || col(2) > 1) return false;
  const w = wasmOperands([a, b], [out]);
  if (w === null) return false;
  w.rt.run('binaryF32', [op, w.ins[0]!, row(1), col(1), w.ins[1]!, row(2), col(2), w.outs[0]!, rows, cols], threadsFor(w.rt, rows * cols));
  return true;
}

function kernelFor(op: BinaryOp, int: boolean): Kernel<null> {
  const name = `binary.${op}${int ? '.int' : ''}`;
  let k = kernels.get(name);
  if (k === undefined) {
    const def: BinaryDef = binaryDefs[op];
    const f = (int && def.cpuInt) || def.cpu;
    const simd = SIMD_OPS[op];
    k = {
      name,
      cpu: (outs, [a, b]) => {
        if (simd !== undefined && binaryWasm(simd, outs[0]!, a!, b!)) return;
        mapBinary(outs[0]!, a!, b!, f);
      },
      gpu: (ctx, [a, b], [out]) => elementwise(ctx, [a!, b!], out!, ([x, y]) => def.wgsl(x!, y!, computeType(a!.dtype))),
    };
    kernels.set(name, k);
  }
  return k;
}

function outDtype(def: BinaryDef, inputs: DType): DType {
  if (def.out === 'bool') return 'bool';
  if (def.out === 'float' && !isFloat(inputs)) return 'float32';
  return inputs;
}

/** Apply a binary primitive by name, with broadcasting and dtype promotion. */
export function binary(op: BinaryOp, a: TensorLike, b: TensorLike): Tensor {
  const def: BinaryDef = binaryDefs[op];
  let [x, y] = coerceOperands(op, [a, b]) as [Tensor, Tensor];
  const dtype = outDtype(def, x.dtype);
  if (dtype !== x.dtype && def.out === 'float') {
    x = x.to(dtype);
    y = y.to(dtype);
  }
  const shape = broadcastShapes(op, x.shape, y.shape);
  const int = x.dtype === 'int32';
  const [out] = runKernel(kernelFor(op, int), [broadcastView(x, shape), broadcastView(y, shape)], [{ shape, dtype }], null);
  const vjp = def.vjp;
  const result = vjp === null || !isFloat(dtype) ? out! : record(out!, op, [x, y], (g, needs) => vjp(g, x, y, out!, needs));
  // numbers made into tensors and casts of the operands: kept only for a backward
  if (x !== a || y !== b) disposeIfUnrecorded(result, [x, y], [a, b].filter((t): t is Tensor => typeof t === 'object'));
  return result;
}

const whereKernel: Kernel<null> = {
  name: 'where',
  cpu: (outs, [c, a, b]) => mapTernary(outs[0]!, c!, a!, b!, (q, x, y) => (q !== 0 ? x : y)),
  gpu: (ctx, [c, a, b], [out]) => elementwise(ctx, [c!, a!, b!], out!, ([q, x, y]) => `select(${y}, ${x}, ${q} != 0u)`),
};

/**
 * Elementwise choice: `a` where `cond` holds, else `b` (numbers allowed for a and b).
 * @example where(x.gt(0), x, 0)
 */
export function where(cond: TensorLike, a: TensorLike, b: TensorLike): Tensor {
  const like = [cond, a, b].find((v): v is Tensor => typeof v === 'object');
  if (like === undefined) throw new Error('where: at least one of cond, a, b must be a tensor');
  const c = typeof cond === 'object' ? (cond.dtype === 'bool' ? cond : cond.to('bool')) : scalarTensor(Boolean(cond), 'bool', like.device);
  let x: Tensor, y: Tensor;
  if (typeof a === 'object' || typeof b === 'object') [x, y] = coerceOperands('where', [a, b]) as [Tensor, Tensor];
  else {
    const dtype = Number.isInteger(Number(a)) && Number.isInteger(Number(b)) ? 'int32' : 'float32';
    [x, y] = [scalarTensor(a, dtype, like.device), scalarTensor(b, dtype, like.device)];
  }
  sameDevice('where', [c, x, y]);
  const shape = broadcastShapes('where', c.shape, x.shape, y.shape);
  const [out] = runKernel(whereKernel, [c, x, y].map((t) => broadcastView(t, shape)), [{ shape, dtype: x.dtype }], null);
  if (!isFloat(x.dtype)) return out!;
  return record(out!, 'where', [x, y], (g, needs) => [
    needs[0] ? where(c, g, 0) : null,
    needs[1] ? where(c, 0, g) : null,
  ]);
}

/** a + b, broadcasting; numbers allowed. @example x.add(1) */
export const add = (a: TensorLike, b: TensorLike) => binary('add', a, b);
/** Elementwise `a - b` with broadcasting. @example sub(x, 1) */
export const sub = (a: TensorLike, b: TensorLike) => binary('sub', a, b);
/** Elementwise `a * b` with broadcasting. @example mul(x, w) */
export const mul = (a: TensorLike, b: TensorLike) => binary('mul', a, b);
/** True division (integers give float32). */
export const div = (a: TensorLike, b: TensorLike) => binary('div', a, b);
/** Elementwise `a ** b`. @example pow(x, 2) */
export const pow = (a: TensorLike, b: TensorLike) => binary('pow', a, b);
/** Elementwise larger of `a` and `b` (NaN propagates). */
export const maximum = (a: TensorLike, b: TensorLike) => binary('maximum', a, b);
/** Elementwise smaller of `a` and `b` (NaN propagates). */
export const minimum = (a: TensorLike, b: TensorLike) => binary('minimum', a, b);
/** Elementwise `a == b` (a bool tensor). */
export const eq = (a: TensorLike, b: TensorLike) => binary('eq', a, b);
/** Elementwise `a != b` (a bool tensor). */
export const ne = (a: TensorLike, b: TensorLike) => binary('ne', a, b);
/** Elementwise `a < b` (a bool tensor). */
export const lt = (a: TensorLike, b: TensorLike) => binary('lt', a, b);
/** Elementwise `a <= b` (a bool tensor). */
export const le = (a: TensorLike, b: TensorLike) => binary('le', a, b);
/** Elementwise `a > b` (a bool tensor). */
export const gt = (a: TensorLike, b: TensorLike) => binary('gt', a, b);
/** Elementwise `a >= b` (a bool tensor). */
export const ge = (a: TensorLike, b: TensorLike) => binary('ge', a, b);
/** Elementwise logical and (a bool tensor). */
export const logicalAnd = (a: TensorLike, b: TensorLike) => binary('logicalAnd', a, b);
/** Elementwise logical or (a bool tensor). */
export const logicalOr = (a: TensorLike, b: TensorLike) => binary('logicalOr', a, b);
