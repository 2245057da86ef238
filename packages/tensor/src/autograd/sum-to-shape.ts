import type { Tensor } from '../tensor.ts';
import type { Shape } from '../shape.ts';
import { fmt } from '../shape.ts';

/**
 * The one broadcasting helper of the tape: sum a gradient of a broadcast shape back to the shape
 * of the input that was broadcast (leading dims summed away, size-1 dims summed with keepdim).
 */
export function sumToShape(grad: Tensor, shape: Shape, op = 'backward'): Tensor {
  const lead = grad.ndim - shape.length;
  if (lead < 0) throw new Error(`${op}: gradient of shape ${fmt(grad.shape)} cannot be reduced to ${fmt(shape)}`);
  const dims: number[] = [];
  for (let i = 0; i < grad.ndim; i++) {
    if (i < lead) dims.push(i);
    else if (shape[i - lead] === 1 && grad.shape[i] !== 1) dims.push(i);
    else if (shape[i - lead] !== grad.shape[i]) {
      throw new Error(`${op}: gradient of shape ${fmt(grad.shape)} cannot be reduced to ${fmt(shape)}`);
    }
  }
  if (dims.length === 0) return grad;
  const summed = grad.sum(dims, true);
  return lead > 0 ? summed.reshape(shape) : summed;
}
