import type { TypedArray } from '../../dtype.ts';
import { contiguousStrides, isContiguous } from '../../shape.ts';
import type { CpuView } from '../types.ts';
import { RowWalker } from './strided.ts';

/** out[i] = f(x[i]) over x's shape; out is contiguous. */
export function mapUnary(out: TypedArray, x: CpuView, f: (v: number) => number): void {
  const xd = x.data;
  if (isContiguous(x.shape, x.strides)) {
    const o = x.offset;
    for (let i = 0; i < out.length; i++) out[i] = f(xd[o + i]!);
    return;
  }
  const it = new RowWalker(x.shape, [contiguousStrides(x.shape), x.strides], [0, x.offset]);
  const so = it.steps[0]!, sx = it.steps[1]!, n = it.inner;
  for (let r = 0; r < it.rows; r++, it.advance()) {
    let o = it.offsets[0]!, i = it.offsets[1]!;
    for (let j = 0; j < n; j++, o += so, i += sx) out[o] = f(xd[i]!);
  }
}

/** out[i] = f(a[i], b[i]); a and b are already broadcast (stride 0) to the output shape. */
export function mapBinary(out: TypedArray, a: CpuView, b: CpuView, f: (x: number, y: number) => number): void {
  const ad = a.data, bd = b.data;
  const it = new RowWalker(a.shape, [contiguousStrides(a.shape), a.strides, b.strides], [0, a.offset, b.offset]);
  const so = it.steps[0]!, sa = it.steps[1]!, sb = it.steps[2]!, n = it.inner;
  for (let r = 0; r < it.rows; r++, it.advance()) {
    let o = it.offsets[0]!, i = it.offsets[1]!, k = it.offsets[2]!;
    if (so === 1 && sa === 1 && sb === 1) {
      for (let j = 0; j < n; j++) out[o + j] = f(ad[i + j]!, bd[k + j]!);
    } else if (so === 1 && sa === 1 && sb === 0) {
      const y = bd[k]!;
      for (let j = 0; j < n; j++) out[o + j] = f(ad[i + j]!, y);
    } else {
      for (let j = 0; j < n; j++, o += so, i += sa, k += sb) out[o] = f(ad[i]!, bd[k]!);
    }
  }
}

/** out[i] = f(c[i], a[i], b[i]) over broadcast operands. */
export function mapTernary(out: TypedArray, c: CpuView, a: CpuView, b: CpuView, f: (c: number, x: number, y: number) => number): void {
  const cd = c.data, ad = a.data, bd = b.data;
  const it = new RowWalker(a.shape, [contiguousStrides(a.shape), c.strides, a.strides, b.strides], [0, c.offset, a.offset, b.offset]);
  const so = it.steps[0]!, sc = it.steps[1]!, sa = it.steps[2]!, sb = it.steps[3]!, n = it.inner;
  for (let r = 0; r < it.rows; r++, it.advance()) {
    let o = it.offsets[0]!, q = it.offsets[1]!, i = it.offsets[2]!, k = it.offsets[3]!;
    for (let j = 0; j < n; j++, o += so, q += sc, i += sa, k += sb) out[o] = f(cd[q]!, ad[i]!, bd[k]!);
  }
}
