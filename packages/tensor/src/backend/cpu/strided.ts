import { collapse, type Shape } from '../../shape.ts';

/**
 * Walks several strided operands over one shape, a row (the innermost run) at a time.
 * Dims of size 1 are dropped and adjacent dims that are contiguous for every operand are merged,
 * so a contiguous tensor is a single row and kernels spend their time in a tight inner loop:
 *
 *   const it = new RowWalker(shape, [outStrides, xStrides], [0, x.offset]);
 *   for (let r = 0; r < it.rows; r++, it.advance()) {
 *     let o = it.offsets[0]!, a = it.offsets[1]!;
 *     for (let j = 0; j < it.inner; j++, o += it.steps[0]!, a += it.steps[1]!) out[o] = f(x[a]);
 *   }
 */
export class RowWalker {
  /** Length of each row. */
  readonly inner: number;
  /** Number of rows. */
  readonly rows: number;
  /** Per-operand stride along the row. */
  readonly steps: number[];
  /** Per-operand offset of the current row's first element. */
  readonly offsets: number[];
  private readonly outerShape: number[];
  private readonly outerStrides: number[][];
  private readonly counter: number[];

  constructor(shape: Shape, strides: readonly Shape[], offsets: readonly number[]) {
    const { dims, strideSets } = collapse(shape, strides);
    const last = dims.length - 1;
    this.inner = last >= 0 ? dims[last]! : 1;
    this.steps = strideSets.map((s) => (last >= 0 ? s[last]! : 0));
    this.outerShape = dims.slice(0, Math.max(last, 0));
    this.outerStrides = strideSets.map((s) => s.slice(0, Math.max(last, 0)));
    let rows = 1;
    for (const d of this.outerShape) rows *= d;
    this.rows = dims.some((d) => d === 0) || shape.some((d) => d === 0) ? 0 : rows;
    this.offsets = [...offsets];
    this.counter = new Array(this.outerShape.length).fill(0);
  }

  /** Move every operand to the next row. */
  advance(): void {
    const shape = this.outerShape;
    for (let d = shape.length - 1; d >= 0; d--) {
      const c = ++this.counter[d]!;
      if (c < shape[d]!) {
        for (let k = 0; k < this.offsets.length; k++) this.offsets[k]! += this.outerStrides[k]![d]!;
        return;
      }
      this.counter[d] = 0;
      for (let k = 0; k < this.offsets.length; k++) this.offsets[k]! -= this.outerStrides[k]![d]! * (c - 1);
    }
  }
}

