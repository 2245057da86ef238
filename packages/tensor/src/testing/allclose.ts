import type { Tensor } from '../tensor.ts';
import { fmt } from '../shape.ts';

export interface CloseOptions {
  rtol?: number;
  atol?: number;
  /** NaN equals NaN (default true). */
  equalNan?: boolean;
}

/** Largest |a-b| - rtol·|b| over all elements, with the first offending index. */
export function compareArrays(a: ArrayLike<number>, b: ArrayLike<number>, options: CloseOptions = {}): { ok: boolean; worst: number; index: number } {
  const { rtol = 1e-5, atol = 1e-8, equalNan = true } = options;
  if (a.length !== b.length) return { ok: false, worst: Infinity, index: -1 };
  let worst = 0;
  let index = -1;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!, y = b[i]!;
    if (Number.isNaN(x) || Number.isNaN(y)) {
      if (equalNan && Number.isNaN(x) && Number.isNaN(y)) continue;
      return { ok: false, worst: Infinity, index: i };
    }
    if (x === y) continue;
    const excess = Math.abs(x - y) - (atol + rtol * Math.abs(y));
    if (excess > worst || (index < 0 && excess > 0)) { worst = excess; index = i; }
  }
  return { ok: index < 0, worst, index };
}

/** Whether two tensors have the same shape and values within tolerance (as `torch.allclose`). */
export async function allclose(a: Tensor, b: Tensor, options: CloseOptions = {}): Promise<boolean> {
  if (a.shape.length !== b.shape.length || a.shape.some((s, i) => s !== b.shape[i])) return false;
  return compareArrays(await a.data(), await b.data(), options).ok;
}

/** Throw with the first mismatch (index and values) unless the tensors are close. */
export async function assertClose(actual: Tensor, expected: Tensor | ArrayLike<number>, options: CloseOptions & { label?: string } = {}): Promise<void> {
  const label = options.label ?? 'values';
  const a = await actual.data();
  const b = 'isTensor' in expected ? await (expected as Tensor).data() : expected;
  if ('isTensor' in expected) {
    const e = expected as Tensor;
    if (e.shape.length !== actual.shape.length || e.shape.some((s, i) => s !== actual.shape[i])) {
      throw new Error(`${label}: shape ${fmt(actual.shape)} differs from expected ${fmt(e.shape)}`);
    }
  }
  const r = compareArrays(a, b, options);
  if (!r.ok) {
    throw new Error(`${label}: not close at flat index ${r.index}: got ${a[r.index]}, expected ${b[r.index]} (rtol ${options.rtol ?? 1e-5}, atol ${options.atol ?? 1e-8})`);
  }
}
