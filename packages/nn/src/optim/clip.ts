import { noGrad, stack, tidy, keep, type Tensor } from '@llmts/tensor';

/**
 * Scale all gradients so their global L2 norm is at most `maxNorm` (PyTorch's
 * `clip_grad_norm_`). Returns the norm before clipping as a 0-d tensor, so no GPU sync is needed;
 * `await norm.item()` reads it.
 * @example const norm = clipGradNorm(model.parameters(), 1.0);
 */
export function clipGradNorm(parameters: Iterable<Tensor>, maxNorm: number, options: { eps?: number } = {}): Tensor {
  const eps = options.eps ?? 1e-6;
  const params = [...parameters].filter((p) => p.grad !== null);
  if (params.length === 0) throw new Error('clipGradNorm: no parameter has a gradient');
  return noGrad(() => {
    const [total, coef] = tidy(() => {
      const squares = params.map((p) => p.grad!.mul(p.grad!).sum());
      const t = stack(squares).sum().sqrt();
      const c = t.add(eps).reciprocal().mul(maxNorm).clamp(null, 1);
      return [t, c];
    });
    for (const p of params) {
      const scaled = keep(p.grad!.mul(coef));
      p.grad!.dispose();
      p.grad = scaled;
    }
    coef.dispose();
    return total;
  });
}
