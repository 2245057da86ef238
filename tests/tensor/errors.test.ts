import { describe, expect, it } from 'vitest';
import { cat, crossEntropy, embedding, layerNorm, multinomial, ones, randn, tensor, topk, zeros } from '@llmts/tensor';

/** Bad input must fail loudly, naming the op and the shapes/dtypes/values at fault. */
describe('error messages', () => {
  const cases: [string, () => unknown, RegExp][] = [
    ['matmul misalignment', () => zeros([2, 3]).matmul(zeros([4, 5])), /^matmul: shapes \[2,3\] and \[4,5\] do not align \(3 != 4\)$/],
    ['matmul dtypes', () => zeros([2, 2]).matmul(zeros([2, 2], { dtype: 'float64' })), /matmul: expected floating point tensors of one dtype, got float32 and float64/],
    ['broadcast clash', () => zeros([2, 3]).add(zeros([4])), /^add: shapes \[2,3\] and \[4\] cannot be broadcast \(dim -1: 3 vs 4\)$/],
    ['dim out of range', () => zeros([2, 3]).sum(2), /sum: dim 2 is out of range for a tensor of rank 2 \(valid: -2\.\.1\)/],
    ['view of wrong size', () => zeros([2, 3]).view(4, 2), /view: shape \[4,2\] is invalid for input of size 6/],
    ['two -1 in view', () => zeros([2, 3]).view(-1, -1), /only one dimension can be -1/],
    ['transposed view', () => zeros([2, 3]).transpose(0, 1).view(6), /cannot be viewed as \[6\] without a copy; use reshape/],
    ['permute arity', () => zeros([2, 3]).permute(0), /permute: expected 2 dims for shape \[2,3\]/],
    ['expand mismatch', () => zeros([2, 3]).expand(2, 4), /expand: shape \[2,3\] cannot be expanded to \[2,4\]/],
    ['gather float index', () => zeros([2, 3]).gather(1, zeros([2, 1])), /gather: index must be int32, got float32/],
    ['gather out of bounds', () => zeros([2, 3]).gather(1, tensor([[3], [0]], { dtype: 'int32' })), /gather: index 3 is out of bounds for dim 1 with size 3/],
    ['embedding out of bounds', () => embedding(tensor([70], { dtype: 'int32' }), zeros([65, 4])), /indexSelect: index 70 is out of bounds for dim 0 with size 65/],
    ['embedding float ids', () => embedding(tensor([1.5]), zeros([65, 4])), /embedding: ids must be int32, got float32/],
    ['crossEntropy target shape', () => crossEntropy(zeros([4, 5]), tensor([1, 2], { dtype: 'int32' })), /crossEntropy: targets of shape \[2\] do not match logits \[4,5\] \(expected \[4\]\)/],
    ['crossEntropy float class targets', () => crossEntropy(zeros([4, 5]), zeros([4])), /probability targets must have the logits' shape \[4,5\]/],
    ['ragged nested array', () => tensor([[1, 2, 3], [4, 5]]), /tensor: ragged nested array at \[1\]: expected length 3, got 2/],
    ['typed array size', () => tensor(new Float32Array(5), { shape: [2, 3] }), /tensor: 5 values do not fill shape \[2,3\] \(6 elements\)/],
    ['cat shapes', () => cat([zeros([2, 3]), zeros([2, 4])], 0), /cat: shapes \[2,3\], \[2,4\] must match except in dim 0/],
    ['narrow range', () => zeros([4]).narrow(0, 3, 2), /narrow: start 3 and length 2 are out of range for dim 0 of size 4/],
    ['select range', () => zeros([4, 2]).select(0, 4), /select: index 4 is out of range for dim 0 of size 4/],
    ['maskedFill float mask', () => zeros([2]).maskedFill(ones([2]), 0), /maskedFill: mask must be a bool tensor/],
    ['requiresGrad on int', () => zeros([2], { dtype: 'int32', requiresGrad: true }), /requiresGrad: only floating point tensors can require gradients, got int32/],
    ['bad dtype', () => zeros([2], { dtype: 'float8' as never }), /unknown dtype 'float8'/],
    ['bad shape', () => zeros([2, -1]), /zeros|full: shape must be an array of non-negative integers/],
    ['topk k too large', () => topk(randn([3]), 4), /topk: k=4 is out of range for dim -1 of size 3/],
    ['layerNorm shape', () => layerNorm(randn([2, 3]), [4]), /layerNorm: normalizedShape \[4\] does not match the trailing dims of input \[2,3\]/],
    ['multinomial negative', () => multinomial(tensor([0.5, -0.1]), 1), /multinomial: probabilities must be finite and non-negative, row 0 has -0.1/],
    ['clamp without bounds', () => zeros([2]).clamp(), /clamp: at least one of min and max must be given/],
    ['to unknown', () => zeros([2]).to('tpu' as never), /to: unknown device or dtype 'tpu'/],
  ];
  for (const [name, fn, pattern] of cases) {
    it(name, () => expect(fn).toThrow(pattern));
  }
});
