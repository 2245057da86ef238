import type { DType, TypedArray } from './dtype.ts';
import type { Shape } from './shape.ts';

/** Flat row-major values to nested arrays of `shape` (a number for 0-d; booleans for bool). */
export function nested(data: TypedArray, shape: Shape, dtype: DType): unknown {
  const value = (i: number): number | boolean => (dtype === 'bool' ? data[i] !== 0 : data[i]!);
  if (shape.length === 0) return value(0);
  let pos = 0;
  const build = (d: number): unknown[] => {
    const out = new Array(shape[d]!);
    for (let i = 0; i < shape[d]!; i++) out[i] = d === shape.length - 1 ? value(pos++) : build(d + 1);
    return out;
  };
  return build(0);
}
