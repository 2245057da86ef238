import type { DType } from '../dtype.ts';
import { isFloat } from '../dtype.ts';
import type { Kernel } from '../backend/types.ts';
import { mapUnary } from '../backend/cpu/elementwise.ts';
import { record } from '../autograd/tape.ts';
import type { Tensor } from '../tensor.ts';
import { runKernel } from './apply.ts';
import { erf as erfScalar } from './special.ts';
import { where } from './binary.ts';
import { computeType, elementwise, literal } from '../backend/webgpu/codegen.ts';
import { fromHalfBits, toHalfBits } from '../backend/webgpu/half.ts';

export interface UnaryAttrs {
  min?: number;
  max?: number;
  dtype?: DType;
}

/**
 * One elementwise unary primitive: the scalar CPU function, the WGSL expression, the output dtype
 * rule and the vjp (in tensor ops, so backward runs on the forward's device).
 */
export interface UnaryDef {
  cpu: (x: number, attrs: UnaryAttrs) => number;
  /** WGSL expression over `x` in its compute type `t`. */
  wgsl: (x: string, attrs: UnaryAttrs, t: 'f32' | 'i32' | 'u32') => string;
  /** Integer/bool inputs are converted to float32 first (as PyTorch does for exp, log, …). */
  floatOnly?: boolean;
  outDtype?: (input: DType, attrs: UnaryAttrs) => DType;
  vjp: ((g: Tensor, x: Tensor, y: Tensor, attrs: UnaryAttrs) => Tensor) | null;
}

export const unaryDefs = {
  neg: { cpu: (x) => -x, wgsl: (x) => `-(${x})`, vjp: (g) => g.neg() },
  exp: { cpu: Math.exp, wgsl: (x) => `exp(${x})`, floatOnly: true, vjp: (g, _x, y) => g.mul(y) },
  log: { cpu: Math.log, wgsl: (x) => `log(${x})`, floatOnly: true, vjp: (g, x) => g.div(x) },
  sqrt: { cpu: Math.sqrt, wgsl: (x) => `sqrt(${x})`, floatOnly: true, vjp: (g, _x, y) => g.div(y.mul(2)) },
  rsqrt: { cpu: (x) => 1 / Math.sqrt(x), wgsl: (x) => `inverseSqrt(${x})`, floatOnly: true, vjp: (g, _x, y) => g.mul(y.mul(y).mul(y)).mul(-0.5) },
  tanh: { cpu: Math.tanh, wgsl: (x) => `tanh(clamp(${x}, -15.0, 15.0))`, floatOnly: true, vjp: (g, _x, y) => g.mul(y.mul(y).neg().add(1)) },
  sigmoid: {
    cpu: (x) => 1 / (1 + Math.exp(-x)),
    wgsl: (x) => `(1.0 / (1.0 + exp(-(${x}))))`,
    floatOnly: true,
    vjp: (g, _x, y) => g.mul(y.mul(y.neg().add(1))),
  },
  relu: { cpu: (x) => (x < 0 ? 0 : x), wgsl: (x) => `max(${x}, 0)`, vjp: (g, x) => where(x.gt(0), g, 0) },
  abs: { cpu: Math.abs, wgsl: (x) => `abs(${x})`, vjp: (g, x) => g.mul(x.sign()) },
  sign: { cpu: (x) => (x > 0 ? 1 : x < 0 ? -1 : x), wgsl: (x) => `sign(${x})`, vjp: null },
  erf: {
    cpu: erfScalar,
    wgsl: (x) => `erf_f32(${x})`,
    floatOnly: true,
    vjp: (g, x) => g.mul(x.mul(x).neg().exp().mul(1.1283791670955126)),
  },
  sin: { cpu: Math.sin, wgsl: (x) => `sin(${x})`, floatOnly: true, vjp: (g, x) => g.mul(x.cos()) },
  cos: { cpu: Math.cos, wgsl: (x) => `cos(${x})`, floatOnly: true, vjp: (g, x) => g.mul(x.sin()).neg() },
  logicalNot: { cpu: (x) => (x === 0 ? 1 : 0), wgsl: (x) => `select(0u, 1u, ${x} == 0)`, outDtype: () => 'bool', vjp: null },
  clamp: {
    cpu: (x, a) => {
      const lo = a.min ?? -Infinity, hi = a.max ?? Infinity;
      return x < lo ? lo : x > hi ? hi : x;
    },
    wgsl: (x, a, t) => {
      const bound = (v: number) => (t === 'f32' ? literal('float32', v) : literal('int32', Math.max(-2147483648, Math.min(2147483647, v))));
      return `clamp(${x}, ${bound(a.min ?? -Infinity)}, ${bound(a.max ?? Infinity)})`;
    },
    vjp: (g, x, _y, a) => where(x.ge(a.min ?? -Infinity).logicalAnd(x.le(a.max ?? Infinity)), g, 0),
  },
  cast: {
    cpu: (x, a) => (a.dtype === 'bool' ? (x !== 0 ? 1 : 0) : a.dtype === 'float16' ? fromHalfBits(toHalfBits(x)) : x),
    wgsl: (x) => x,
    outDtype: (_d, a) => a.dtype!,
    vjp: (g) => g,
  },
} satisfies Record<string, UnaryDef>;

export type UnaryOp = keyof typeof unaryDefs;

const kernels = new Map<UnaryOp, Kernel<UnaryAttrs>>();

function kernelFor(op: UnaryOp): Kernel<UnaryAttrs> {
  let k = kernels.get(op);
  if (k === undefined) {
    const def: UnaryDef = unaryDefs[op];
    k = {
      name: `unary.${op}`,
      cpu: (outs, [x], attrs) => {
        const f = def.cpu;
        mapUnary(outs[0]!, x!, (v) => f(v, attrs));
      },
      gpu: (ctx, [x], [out], attrs) => elementwise(ctx, [x!], out!, ([a]) => def.wgsl(a!, attrs, computeType(x!.dtype))),
    };
    kernels.set(op, k);
  }
  return k;
}

/** Apply a unary primitive by name (the building block of every unary method). */
export function unary(op: UnaryOp, x: Tensor, attrs: UnaryAttrs = {}): Tensor {
  x.assertLive(op);
  const def: UnaryDef = unaryDefs[op];
  if (def.floatOnly && !isFloat(x.dtype)) x = x.to('float32');
  const fractionalBound = !Number.isInteger(attrs.min ?? 0) || !Number.isInteger(attrs.max ?? 0);
  if (op === 'clamp' && fractionalBound && !isFloat(x.dtype)) x = x.to('float32');
  const dtype = def.outDtype ? def.outDtype(x.dtype, attrs) : x.dtype;
  const [y] = runKernel(kernelFor(op), [x], [{ shape: x.shape, dtype }], attrs);
  const vjp = def.vjp;
  if (vjp === null || !isFloat(y!.dtype)) return y!;
  return record(y!, op, [x], (g) => [vjp(g, x, y!, attrs)]);
}

/** -x */
export const neg = (x: Tensor) => unary('neg', x);
/** e^x */
export const exp = (x: Tensor) => unary('exp', x);
/** Natural logarithm. */
export const log = (x: Tensor) => unary('log', x);
/** Elementwise square root. @example sqrt(x) */
export const sqrt = (x: Tensor) => unary('sqrt', x);
/** 1/sqrt(x) */
export const rsqrt = (x: Tensor) => unary('rsqrt', x);
/** Elementwise hyperbolic tangent. */
export const tanh = (x: Tensor) => unary('tanh', x);
/** 1/(1+e^-x) */
export const sigmoid = (x: Tensor) => unary('sigmoid', x);
/** max(x, 0) */
export const relu = (x: Tensor) => unary('relu', x);
/** Elementwise |x|. */
export const abs = (x: Tensor) => unary('abs', x);
/** Elementwise -1, 0 or 1. */
export const sign = (x: Tensor) => unary('sign', x);
/** The error function. */
export const erf = (x: Tensor) => unary('erf', x);
/** Elementwise sine. */
export const sin = (x: Tensor) => unary('sin', x);
/** Elementwise cosine. */
export const cos = (x: Tensor) => unary('cos', x);
/** Elementwise logical not (a bool tensor). */
export const logicalNot = (x: Tensor) => unary('logicalNot', x);

/**
 * Clamp into [min, max] (either bound may be omitted); gradient flows where min <= x <= max.
 * @example x.clamp(0, 1)
 */
export function clamp(x: Tensor, min?: number | null, max?: number | null): Tensor {
  if ((min === undefined || min === null) && (max === undefined || max === null)) {
    throw new Error('clamp: at least one of min and max must be given');
  }
  const attrs: UnaryAttrs = {};
  if (min !== undefined && min !== null) attrs.min = min;
  if (max !== undefined && max !== null) attrs.max = max;
  return unary('clamp', x, attrs);
}

/** Convert to another dtype (float to int truncates toward zero; to bool is `x != 0`). */
export function cast(x: Tensor, dtype: DType): Tensor {
  if (x.dtype === dtype) return x;
  return unary('cast', x, { dtype });
}
