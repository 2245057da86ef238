/**
 * Weight initialisation in place (the tensor keeps its identity), as `torch.nn.init`.
 * @example init.normal_(linear.weight, 0, 0.02)
 */
import { noGrad, rand, randn, full, tidy, type Tensor } from '@llmts/tensor';

/** Give `t` the values `make` builds; every temporary of `make` is freed. */
function replace(t: Tensor, make: () => Tensor): Tensor {
  tidy(() => noGrad(() => t.setData(make())));
  return t;
}

const opts = (t: Tensor) => ({ dtype: t.dtype, device: t.device });

export function normal_(t: Tensor, mean = 0, std = 1): Tensor {
  return replace(t, () => randn(t.shape, opts(t)).mul(std).add(mean));
}

export function uniform_(t: Tensor, low = 0, high = 1): Tensor {
  return replace(t, () => rand(t.shape, opts(t)).mul(high - low).add(low));
}

export function constant_(t: Tensor, value: number): Tensor {
  return replace(t, () => full(t.shape, value, opts(t)));
}

export const zeros_ = (t: Tensor) => constant_(t, 0);
export const ones_ = (t: Tensor) => constant_(t, 1);

/** fan_in and fan_out of a weight [out, in, ...receptive]. */
export function fans(t: Tensor): { fanIn: number; fanOut: number } {
  if (t.ndim < 2) throw new Error(`init: fan in/out need at least 2 dims, got shape [${t.shape.join(',')}]`);
  const receptive = t.shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: t.shape[1]! * receptive, fanOut: t.shape[0]! * receptive };
}

/** Glorot uniform: U(-a, a) with a = gain·sqrt(6/(fanIn+fanOut)). */
export function xavierUniform_(t: Tensor, gain = 1): Tensor {
  const { fanIn, fanOut } = fans(t);
  const a = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform_(t, -a, a);
}

/** He uniform as PyTorch's Linear default (a = √5): U(-1/√fanIn, 1/√fanIn). */
export function kaimingUniform_(t: Tensor, a = Math.sqrt(5)): Tensor {
  const { fanIn } = fans(t);
  const gain = Math.sqrt(2 / (1 + a * a));
  const bound = gain * Math.sqrt(3 / fanIn);
  return uniform_(t, -bound, bound);
}

/**
 * GPT-2's scaled init for projections that write into the residual stream:
 * N(0, (0.02 / sqrt(2 · nLayer))²).
 */
export function scaledResidual_(t: Tensor, nLayer: number, std = 0.02): Tensor {
  return normal_(t, 0, std / Math.sqrt(2 * nLayer));
}
