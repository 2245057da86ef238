import { noGrad, keep, type Tensor } from '@llmts/tensor';
import { clipGradNorm_, ownsWholeStorage } from '@llmts/tensor/internal';

/**
 * Scale all gradients so their global L2 norm is at most `maxNorm` (PyTorch's
 * `clip_grad_norm_`). Returns the norm before clipping as a 0-d tensor, so no GPU sync is needed;
 * `await norm.item()` reads it.
 * @example const norm = clipGradNorm(model.parameters(), 1.0);
 */
export function clipGradNorm(parameters: Iterable<Tensor>, maxNorm: number, options: { eps?: number } = {}): Tensor {
  const eps = options.eps ?? 1e-6;
  const params = [...new Set(parameters)].filter((p) => p.grad !== null);
  if (params.length === 0) throw new Error('clipGradNorm: no parameter has a gradient');
  return noGrad(() => {
    // the multi-tensor kernel scales in place: a gradient that is a view, or shares its memory
    // with another tensor, is first copied into memory of its own
    const owners = new Set<unknown>();
    const handles = new Set<Tensor>();
    for (const p of params) {
      const g = p.grad!;
      const own = g.dtype !== p.dtype
        ? g.to(p.dtype) // an integer gradient set by hand: scaled as floats, like PyTorch's multiply would
        : g.storage.refs !== 1 || !ownsWholeStorage(g) || owners.has(g.storage) ? g.clone() : g;
      if (own !== g) {
        if (!handles.has(g)) g.dispose(); // the same handle may still be an earlier parameter's gradient
        p.grad = keep(own);
      }
      handles.add(g);
      owners.add(p.grad!.storage);
    }
    return clipGradNorm_(params.map((p) => p.grad!), maxNorm, eps);
  });
}
