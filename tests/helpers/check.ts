import fc from 'fast-check';
import { gradcheck, tensor, type Tensor } from '@llmts/tensor';
import type { GradCase } from './gradcases.ts';
import type { HostTensor } from './arbitraries.ts';

export function toTensor(h: HostTensor, requiresGrad = true): Tensor {
  const dtype = h.dtype ?? 'float64';
  return tensor(dtype === 'bool' ? h.values.map(Boolean) : h.values, { shape: h.shape, dtype, requiresGrad: requiresGrad && dtype === 'float64' });
}

export function checkCase(c: GradCase, numRuns: number): void {
  fc.assert(
    fc.property(c.arb, (p) => {
      const inputs = p.inputs.map((h, i) => toTensor(h, p.grads?.[i] ?? true));
      const result = gradcheck(p.run, inputs, { eps: c.eps ?? 1e-6, rtol: c.rtol ?? 1e-5, atol: c.atol ?? 1e-7 });
      if (!result.ok) throw new Error(`${p.label}: ${JSON.stringify(result.details)}`);
    }),
    { numRuns, seed: 20261122 },
  );
}

