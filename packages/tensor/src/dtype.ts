/** Element types. float64 exists on the CPU (gradient checks); float16 is GPU storage only. */
export type DType = 'float32' | 'float64' | 'float16' | 'int32' | 'bool';

export type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array | Uint16Array;

/** Every dtype: 'float32', 'float64' (CPU), 'float16' (GPU storage), 'int32', 'bool'. */
export const DTYPES: readonly DType[] = ['float32', 'float64', 'float16', 'int32', 'bool'];

/** Bytes per element as stored on the CPU. */
export function itemSize(dtype: DType): number {
  switch (dtype) {
    case 'float64': return 8;
    case 'float32': case 'int32': return 4;
    case 'float16': return 2;
    case 'bool': return 1;
  }
}

/** A fresh zeroed CPU array for `n` elements of `dtype` (float16 is held as float32 on the CPU). */
export function allocArray(dtype: DType, n: number): TypedArray {
  switch (dtype) {
    case 'float64': return new Float64Array(n);
    case 'float32': case 'float16': return new Float32Array(n);
    case 'int32': return new Int32Array(n);
    case 'bool': return new Uint8Array(n);
  }
}

/** Whether `dtype` is a floating point type (gradients flow only through those). @example isFloat('int32') // false */
export function isFloat(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64' || dtype === 'float16';
}

export function assertDType(dtype: string, where: string): asserts dtype is DType {
  if (!(DTYPES as readonly string[]).includes(dtype)) {
    throw new Error(`${where}: unknown dtype '${dtype}' (valid: ${DTYPES.join(', ')})`);
  }
}

const RANK: Record<DType, number> = { bool: 0, int32: 1, float16: 2, float32: 3, float64: 4 };

/** PyTorch-style promotion of two tensor dtypes: bool < int32 < float16 < float32 < float64. */
export function promoteTypes(a: DType, b: DType): DType {
  return RANK[a] >= RANK[b] ? a : b;
}

/**
 * The dtype of `tensor op scalar`, as in PyTorch: a scalar never widens a tensor of its own kind,
 * but a fractional scalar lifts an integer or bool tensor to float32, and an integer scalar lifts
 * bool to int32.
 */
export function promoteWithScalar(t: DType, scalar: number | boolean): DType {
  if (typeof scalar === 'boolean') return t;
  if (isFloat(t)) return t;
  if (!Number.isInteger(scalar)) return 'float32';
  return t === 'bool' ? 'int32' : t;
}

/**
 * A number for an integer or bool dtype, as PyTorch converts it: int32 truncates toward zero and
 * refuses NaN, ±Infinity and values outside its range (instead of wrapping silently).
 */
export function checkedScalar(op: string, value: number, dtype: DType): number {
  if (dtype === 'int32') {
    const v = Math.trunc(value);
    if (!(v >= -2147483648 && v <= 2147483647)) throw new Error(`${op}: value ${value} cannot be converted to int32 without overflow (range -2147483648..2147483647)`);
    return v;
  }
  if (dtype === 'bool') return value !== 0 && !Number.isNaN(value) ? 1 : 0;
  return value;
}
