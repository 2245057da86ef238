import { describe, it } from 'vitest';
import fc from 'fast-check';
import { crossEntropy, dropout, embedding, gelu, layerNorm, logSoftmax, manualSeed, softmax, tril, type Tensor } from '@llmts/tensor';
import { hostArb, numelOf, shapeArb } from '../helpers/arbitraries.ts';
import { checkCase } from '../helpers/check.ts';

describe('gradient check of composite ops (built from primitives)', () => {
  it('softmax and logSoftmax over any dim', () => checkCase({
    arb: shapeArb(1, 3).chain((s) => fc.tuple(hostArb(s, -3, 3), fc.integer({ min: -s.length, max: s.length - 1 }))).map(([x, dim]) => ({
      inputs: [x],
      run: (t: Tensor) => softmax(t, dim).mul(logSoftmax(t, dim)),
      label: `[${x.shape}] dim ${dim}`,
    })),
  }, 20));

  it('crossEntropy with class targets, ignoreIndex and label smoothing', () => checkCase({
    arb: fc.tuple(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 2, max: 6 }), fc.double({ min: 0, max: 0.3, noNaN: true }), fc.constantFrom('mean', 'sum', 'none'))
      .chain(([n, c, smooth, reduction]) => fc.tuple(hostArb([n, c], -3, 3), fc.array(fc.integer({ min: -1, max: c - 1 }), { minLength: n, maxLength: n })).map(([x, t]) => ({
        inputs: [x, { shape: [n], values: t.map((v) => (v < 0 ? -100 : v)), dtype: 'int32' as const }],
        run: (l: Tensor, y: Tensor) => crossEntropy(l, y, { labelSmoothing: smooth, reduction: reduction as 'mean' }).add(0),
        label: `[${n},${c}] smoothing ${smooth} ${reduction}`,
      }))),
  }, 20));

  it('crossEntropy with probability targets over [N, C, d]', () => checkCase({
    arb: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 2, max: 4 }), fc.integer({ min: 1, max: 3 })).chain(([n, c, d]) =>
      fc.tuple(hostArb([n, c, d], -3, 3), hostArb([n, c, d], 0.1, 1)).map(([x, p]) => ({
        inputs: [x, p],
        grads: [true, false],
        run: (l: Tensor, q: Tensor) => crossEntropy(l, q.detach()),
        label: `[${n},${c},${d}]`,
      }))),
  }, 15));

  it('layerNorm with weight and bias', () => checkCase({
    arb: shapeArb(1, 3).chain((s) => fc.tuple(hostArb(s, -2, 2), hostArb(s.slice(-1)), hostArb(s.slice(-1)))).map(([x, w, b]) => ({
      inputs: [x, w, b],
      run: (t: Tensor, wt: Tensor, bs: Tensor) => layerNorm(t, [t.shape[t.ndim - 1]!], wt, bs),
      label: `[${x.shape}]`,
    })),
    rtol: 1e-4, atol: 1e-6,
  }, 20));

  it('gelu, exact and tanh approximation', () => checkCase({
    arb: shapeArb(0, 3).chain((s) => fc.tuple(hostArb(s, -4, 4), fc.constantFrom('none', 'tanh'))).map(([x, approximate]) => ({
      inputs: [x],
      run: (t: Tensor) => gelu(t, { approximate: approximate as 'none' }),
      label: `[${x.shape}] ${approximate}`,
    })),
  }, 20));

  it('var, std and mean over dims', () => checkCase({
    arb: shapeArb(1, 3).filter((s) => numelOf(s) > 1).chain((s) => hostArb(s)).map((x) => ({
      // spread the values so the variance stays away from 0, where std has no gradient
      inputs: [{ ...x, values: x.values.map((v, i) => v + i * 0.3) }],
      run: (t: Tensor) => t.var(-1, { keepdim: true, correction: t.shape[t.ndim - 1]! > 1 ? 1 : 0 }).add(t.mean()).add(t.std(undefined)),
      label: `[${x.shape}]`,
    })),
  }, 20));

  it('embedding (indexSelect) with repeated ids', () => checkCase({
    arb: fc.tuple(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 4 }), shapeArb(1, 2)).chain(([v, c, is]) =>
      fc.tuple(hostArb([v, c]), fc.array(fc.integer({ min: 0, max: v - 1 }), { minLength: numelOf(is), maxLength: numelOf(is) })).map(([w, ids]) => ({
        inputs: [w, { shape: is, values: ids, dtype: 'int32' as const }],
        run: (wt: Tensor, i: Tensor) => embedding(i, wt).exp(),
        label: `vocab ${v} dim ${c} ids [${is}]`,
      }))),
  }, 20));

  it('causal attention chain: matmul, scale, masked fill, softmax, matmul', () => checkCase({
    arb: fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 3 })).chain(([t, d]) =>
      fc.tuple(hostArb([2, t, d]), hostArb([2, t, d]), hostArb([2, t, d]))).map(([q, k, v]) => ({
      inputs: [q, k, v],
      run: (Q: Tensor, K: Tensor, V: Tensor) => {
        const T = Q.shape[1]!;
        const mask = tril(Q.zerosLike().select(0, 0).narrow(1, 0, 1).expand(T, T).add(1));
        const att = Q.matmul(K.transpose(-2, -1)).div(Math.sqrt(Q.shape[2]!)).maskedFill(mask.eq(0), -Infinity);
        return softmax(att, -1).matmul(V);
      },
      label: `T ${q.shape[1]} d ${q.shape[2]}`,
    })),
  }, 20));

  it('dropout with a fixed mask', () => checkCase({
    arb: shapeArb(1, 3).chain((s) => hostArb(s)).map((x) => ({
      inputs: [x],
      run: (t: Tensor) => { manualSeed(7); return dropout(t, 0.3, true); },
      label: `[${x.shape}]`,
    })),
  }, 10));
});
