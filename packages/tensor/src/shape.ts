/** Shapes, strides and broadcasting: pure functions on number arrays. */

export type Shape = readonly number[];

export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}

export function isContiguous(shape: Shape, strides: Shape): boolean {
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && strides[i] !== s) return false;
    s *= shape[i]!;
  }
  return true;
}

export function fmt(shape: Shape): string {
  return `[${shape.join(',')}]`;
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Broadcast shapes as NumPy/PyTorch do; throws naming the op and both shapes when they clash. */
export function broadcastShapes(op: string, ...shapes: Shape[]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const j = rank - s.length + i;
      const d = s[i]!;
      if (d === out[j] || d === 1) continue;
      if (out[j] === 1) out[j] = d;
      else {
        throw new Error(`${op}: shapes ${shapes.map(fmt).join(' and ')} cannot be broadcast (dim ${j - rank}: ${out[j]} vs ${d})`);
      }
    }
  }
  return out;
}

/** Normalise a possibly negative dim against `rank`, naming the op when it is out of range. */
export function normalizeDim(op: string, dim: number, rank: number): number {
  const r = Math.max(rank, 1);
  if (!Number.isInteger(dim) || dim < -r || dim >= r) {
    throw new Error(`${op}: dim ${dim} is out of range for a tensor of rank ${rank} (valid: ${-r}..${r - 1})`);
  }
  return dim < 0 ? dim + r : dim;
}

/** Normalise a dim list (or undefined = all dims), sorted and checked for repeats. */
export function normalizeDims(op: string, dims: number | readonly number[] | undefined, rank: number): number[] {
  if (dims === undefined) return [...Array(rank).keys()];
  const list = typeof dims === 'number' ? [dims] : [...dims];
  const out = list.map((d) => normalizeDim(op, d, rank)).sort((a, b) => a - b);
  for (let i = 1; i < out.length; i++) {
    if (out[i] === out[i - 1]) throw new Error(`${op}: dim ${out[i]} is repeated in [${list.join(',')}]`);
  }
  return out;
}

/** Resolve a `view`/`reshape` target that may contain one -1. */
export function inferShape(op: string, from: Shape, to: readonly number[]): number[] {
  const n = numel(from);
  let unknown = -1;
  let known = 1;
  for (let i = 0; i < to.length; i++) {
    const d = to[i]!;
    if (d === -1) {
      if (unknown >= 0) throw new Error(`${op}: only one dimension can be -1, got ${fmt(to)}`);
      unknown = i;
    } else if (!Number.isInteger(d) || d < 0) {
      throw new Error(`${op}: invalid size ${d} in ${fmt(to)}`);
    } else known *= d;
  }
  const out = [...to];
  if (unknown >= 0) {
    if (known === 0 || n % known !== 0) {
      throw new Error(`${op}: shape ${fmt(to)} is invalid for input of size ${n} (shape ${fmt(from)})`);
    }
    out[unknown] = n / known;
  } else if (known !== n) {
    throw new Error(`${op}: shape ${fmt(to)} is invalid for input of size ${n} (shape ${fmt(from)})`);
  }
  return out;
}

/**
 * Strides that let a tensor of (shape, strides) be seen as `to` without copying, or null when its
 * memory layout does not allow it (PyTorch's `view` rule). Old dims are grouped, from the innermost,
 * into chunks that are contiguous with each other; each chunk must be covered exactly by a run of
 * new dims, which then step through it with the chunk's innermost stride.
 */
export function viewStrides(shape: Shape, strides: Shape, to: Shape): number[] | null {
  if (numel(shape) === 0 || shape.length === 0) return contiguousStrides(to);
  const out = new Array<number>(to.length);
  let newDim = to.length - 1;
  let chunkStride = strides[shape.length - 1]!;
  let chunkSize = 1;
  let covered = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    chunkSize *= shape[d]!;
    const chunkEnds = d === 0 || (shape[d - 1] !== 1 && strides[d - 1] !== chunkSize * chunkStride);
    if (!chunkEnds) continue;
    while (newDim >= 0 && (covered < chunkSize || to[newDim] === 1)) {
      out[newDim] = covered * chunkStride;
      covered *= to[newDim]!;
      newDim--;
    }
    if (covered !== chunkSize) return null;
    if (d > 0) {
      chunkStride = strides[d - 1]!;
      chunkSize = 1;
      covered = 1;
    }
  }
  return newDim === -1 ? out : null;
}

/** Drop size-1 dims and merge dims that are contiguous with each other in every operand. */
export function collapse(shape: Shape, strides: readonly Shape[]): { dims: number[]; strideSets: number[][] } {
  const dims: number[] = [];
  const strideSets: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    const size = shape[d]!;
    if (size === 1) continue;
    const last = dims.length - 1;
    const mergeable = last >= 0 && strides.every((s, k) => strideSets[k]![last] === s[d]! * size);
    if (mergeable) {
      dims[last]! *= size;
      strides.forEach((s, k) => { strideSets[k]![last] = s[d]!; });
    } else {
      dims.push(size);
      strides.forEach((s, k) => strideSets[k]!.push(s[d]!));
    }
  }
  return { dims, strideSets };
}
