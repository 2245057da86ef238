import type { Tensor } from '../tensor.ts';
import { fromArray } from '../ops/create.ts';
import { noGrad } from '../autograd/mode.ts';
import { getBackend } from '../backend/registry.ts';
import { compareArrays } from './allclose.ts';
import { hash2 } from '../random.ts';

export interface GradcheckOptions {
  eps?: number;
  rtol?: number;
  atol?: number;
  /** Which inputs to check (default: those that require grad). */
  check?: readonly boolean[];
}

export interface GradcheckResult {
  ok: boolean;
  /** Per checked input: the worst mismatch, with both values. */
  details: { input: number; index: number; analytic: number; numeric: number }[];
}

/**
 * Compare the analytic gradients of `fn` with float64 central differences (CPU, float64 inputs).
 * The output is reduced with fixed pseudo-random weights, so every output element matters.
 * @example gradcheck((x) => x.tanh(), [tensor([0.5, -1], { dtype: 'float64', requiresGrad: true })])
 */
export function gradcheck(fn: (...inputs: Tensor[]) => Tensor, inputs: Tensor[], options: GradcheckOptions = {}): GradcheckResult {
  const { eps = 1e-6, rtol = 1e-5, atol = 1e-7 } = options;
  const check = options.check ?? inputs.map((t) => t.requiresGrad);
  for (const t of inputs) {
    if (t.device !== 'cpu') throw new Error('gradcheck: inputs must be on the CPU');
  }
  const read = (t: Tensor) => getBackend('cpu').readSync!(t);
  const out0 = fn(...inputs);
  const weights = Float64Array.from({ length: out0.numel() }, (_, i) => (hash2(12345, i) / 4294967296) * 2 - 1);
  const w = fromArray(weights, out0.shape, { dtype: out0.dtype });
  const scalarOf = (o: Tensor): number => {
    const v = read(o);
    let s = 0;
    for (let i = 0; i < v.length; i++) s += v[i]! * weights[i]!;
    return s;
  };
  for (const t of inputs) t.grad = null;
  out0.mul(w).sum().backward();
  const details: GradcheckResult['details'] = [];
  let ok = true;
  inputs.forEach((x, k) => {
    if (!check[k]) return;
    const base = read(x);
    const analytic = x.grad ? read(x.grad) : new Float64Array(base.length);
    const numeric = new Float64Array(base.length);
    for (let i = 0; i < base.length; i++) {
      const plus = Float64Array.from(base); plus[i]! += eps;
      const minus = Float64Array.from(base); minus[i]! -= eps;
      const at = (vals: Float64Array) => noGrad(() => {
        const args = inputs.map((y, j) => (j === k ? fromArray(vals, y.shape, { dtype: y.dtype }) : y));
        return scalarOf(fn(...args));
      });
      numeric[i] = (at(plus) - at(minus)) / (2 * eps);
    }
    const r = compareArrays(analytic, numeric, { rtol, atol });
    if (!r.ok) {
      ok = false;
      details.push({ input: k, index: r.index, analytic: analytic[r.index]!, numeric: numeric[r.index]! });
    }
  });
  return { ok, details };
}
