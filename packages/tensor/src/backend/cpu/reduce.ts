import type { TypedArray } from '../../dtype.ts';
import { contiguousStrides, type Shape } from '../../shape.ts';
import type { CpuView } from '../types.ts';
import { RowWalker } from './strided.ts';

export type ReduceKind = 'sum' | 'max' | 'min';

/** Strides of the keepdim-shaped output, with 0 on reduced dims so every input maps onto it. */
function outputStrides(shape: Shape, dims: readonly number[]): number[] {
  const keep = shape.map((d, i) => (dims.includes(i) ? 1 : d));
  const strides = contiguousStrides(keep);
  for (const d of dims) strides[d] = 0;
  return strides;
}

/**
 * Reduce `x` over `dims` into the contiguous keepdim-shaped `out`. Walks the input in memory
 * order; sums accumulate in float64.
 */
export function reduceInto(out: TypedArray, x: CpuView, dims: readonly number[], kind: ReduceKind): void {
  const acc = new Float64Array(out.length).fill(kind === 'sum' ? 0 : kind === 'max' ? -Infinity : Infinity);
  const xd = x.data;
  const it = new RowWalker(x.shape, [outputStrides(x.shape, dims), x.strides], [0, x.offset]);
  const so = it.steps[0]!, sx = it.steps[1]!, n = it.inner;
  for (let r = 0; r < it.rows; r++, it.advance()) {
    let o = it.offsets[0]!, i = it.offsets[1]!;
    if (so === 0) {
      let a = acc[o]!;
      if (kind === 'sum') for (let j = 0; j < n; j++, i += sx) a += xd[i]!;
      else if (kind === 'max') for (let j = 0; j < n; j++, i += sx) { const v = xd[i]!; if (v > a || v !== v) a = v; }
      else for (let j = 0; j < n; j++, i += sx) { const v = xd[i]!; if (v < a || v !== v) a = v; }
      acc[o] = a;
    } else if (kind === 'sum') {
      for (let j = 0; j < n; j++, o += so, i += sx) acc[o] += xd[i]!;
    } else {
      for (let j = 0; j < n; j++, o += so, i += sx) {
        const v = xd[i]!, a = acc[o]!;
        if (a === a && ((kind === 'max' ? v > a : v < a) || v !== v)) acc[o] = v;
      }
    }
  }
  out.set(acc);
}

/** Index of the first largest (or smallest) value along `dim`; NaN counts as largest. */
export function argReduceInto(out: TypedArray, x: CpuView, dim: number, largest: boolean): void {
  const shape = x.shape;
  const n = shape[dim]!;
  const step = x.strides[dim]!;
  const rest = shape.map((d, i) => (i === dim ? 1 : d));
  const it = new RowWalker(rest, [contiguousStrides(rest), x.strides], [0, x.offset]);
  const so = it.steps[0]!, sx = it.steps[1]!;
  const xd = x.data;
  for (let r = 0; r < it.rows; r++, it.advance()) {
    let o = it.offsets[0]!, base = it.offsets[1]!;
    for (let j = 0; j < it.inner; j++, o += so, base += sx) {
      let best = xd[base]!, bestIdx = 0;
      for (let k = 1; k < n && best === best; k++) {
        const v = xd[base + k * step]!;
        if ((largest ? v > best : v < best) || v !== v) { best = v; bestIdx = k; }
      }
      out[o] = bestIdx;
    }
  }
}
