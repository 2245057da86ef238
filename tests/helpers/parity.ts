import fc from 'fast-check';
import { tensor, type Device, type Tensor } from '@llmts/tensor';
import { compareArrays } from '@llmts/tensor/internal';
import type { HostTensor } from './arbitraries.ts';
import type { GradProblem } from './gradcases.ts';

export interface Tolerance {
  rtol: number;
  atol: number;
}

export function hostToDevice(h: HostTensor, device: Device, requiresGrad: boolean): Tensor {
  const dtype = h.dtype === 'float64' || h.dtype === undefined ? 'float32' : h.dtype;
  return tensor(dtype === 'bool' ? h.values.map(Boolean) : h.values, { shape: h.shape, dtype, device, requiresGrad: requiresGrad && dtype === 'float32' });
}

async function valuesOf(t: Tensor): Promise<number[]> {
  return [...(await t.data())].map(Number);
}

/** Run one problem on the CPU and the GPU in float32: outputs and (optionally) gradients must agree. */
export async function checkParity(p: GradProblem, tol: Tolerance, grads: boolean): Promise<void> {
  const results: { out: number[]; grads: (number[] | null)[]; shape: readonly number[] }[] = [];
  for (const device of ['cpu', 'gpu'] as const) {
    const inputs = p.inputs.map((h, i) => hostToDevice(h, device, grads && (p.grads?.[i] ?? true)));
    const out = p.run(...inputs);
    const entry = { out: await valuesOf(out), grads: [] as (number[] | null)[], shape: out.shape };
    if (grads && out.requiresGrad) {
      const w = tensor(entry.out.map((_, i) => Math.sin(i + 1)), { shape: out.shape, device, dtype: out.dtype });
      out.mul(w).sum().backward();
      for (const x of inputs) entry.grads.push(x.grad ? await valuesOf(x.grad) : null);
    }
    results.push(entry);
  }
  const [cpu, gpu] = results as [typeof results[0], typeof results[0]];
  if (cpu.shape.join() !== gpu.shape.join()) throw new Error(`${p.label}: shapes differ: cpu [${cpu.shape}] gpu [${gpu.shape}]`);
  const r = compareArrays(gpu.out, cpu.out, tol);
  if (!r.ok) throw new Error(`${p.label}: forward differs at ${r.index}: gpu ${gpu.out[r.index]} cpu ${cpu.out[r.index]}`);
  cpu.grads.forEach((g, i) => {
    const h = gpu.grads[i];
    if (g === null || h === null || h === undefined) {
      if (g !== h) throw new Error(`${p.label}: gradient of input ${i} present on one device only`);
      return;
    }
    const rg = compareArrays(h, g, tol);
    if (!rg.ok) throw new Error(`${p.label}: gradient of input ${i} differs at ${rg.index}: gpu ${h[rg.index]} cpu ${g[rg.index]}`);
  });
}

export function assertParity(arb: fc.Arbitrary<GradProblem>, tol: Tolerance, grads: boolean, numRuns: number): Promise<void> {
  return fc.assert(fc.asyncProperty(arb, (p) => checkParity(p, tol, grads)), { numRuns, seed: 7 });
}
