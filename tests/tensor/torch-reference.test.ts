import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cat, crossEntropy, embedding, gelu, layerNorm, logSoftmax, maximum, minimum, ones, softmax, stack, tensor, tril, triu, where, type Tensor } from '@llmts/tensor';
import { compareArrays } from '@llmts/tensor/internal';

interface RefCase {
  name: string;
  inputs: { shape: number[]; dtype: 'float64' | 'int32'; values: number[] }[];
  output: { shape: number[]; values: number[] };
  weights: number[];
  grads: (number[] | null)[];
}

const ref = JSON.parse(readFileSync(fileURLToPath(new URL('../reference/torch-reference.json', import.meta.url)), 'utf8')) as { cases: RefCase[] };

function causalAttention(q: Tensor, k: Tensor, v: Tensor): Tensor {
  const T = q.shape[q.ndim - 2]!;
  const mask = tril(ones([T, T], { dtype: 'float64' }));
  const att = q.matmul(k.transpose(-2, -1)).div(Math.sqrt(k.shape[k.ndim - 1]!)).maskedFill(mask.eq(0), -Infinity);
  return softmax(att, -1).matmul(v);
}

/** The same computations as make_reference.py, written with llm.ts. */
const ours: Record<string, (...xs: Tensor[]) => Tensor> = {
  softmax: (x) => softmax(x, -1),
  log_softmax_dim0: (x) => logSoftmax(x, 0),
  softmax_then_cross_entropy: (x, y) => crossEntropy(x, y!),
  cross_entropy_ignore_index: (x, y) => crossEntropy(x, y!, { ignoreIndex: -100 }),
  cross_entropy_label_smoothing: (x, y) => crossEntropy(x, y!, { labelSmoothing: 0.1 }),
  cross_entropy_sum: (x, y) => crossEntropy(x, y!, { reduction: 'sum' }),
  cross_entropy_none_3d: (x, y) => crossEntropy(x, y!, { reduction: 'none' }),
  cross_entropy_probs: (x, p) => crossEntropy(x, p!),
  layer_norm: (x, w, b) => layerNorm(x, [8], w, b, 1e-5),
  layer_norm_2d_no_affine: (x) => layerNorm(x, [3, 4]),
  gelu_exact: (x) => gelu(x),
  gelu_tanh: (x) => gelu(x, { approximate: 'tanh' }),
  causal_attention: (q, k, v) => causalAttention(q, k!, v!),
  matmul_broadcast: (a, b) => a.matmul(b!),
  matmul_vector: (a, b) => a.matmul(b!),
  mlp: (x, w1, b1, w2, b2) => x.matmul(w1!).add(b1!).relu().matmul(w2!).add(b2!).tanh(),
  var_std: (x) => x.var(1, { keepdim: true }).add(x.std()).add(x.var([0, 2], { correction: 0 }).sum()),
  amax_keepdim: (x) => x.amax(-1, true).sub(x.amin(0).sum()),
  elementwise_zoo: (a, b) => a.sigmoid().mul(b!.erf()).add(a.clamp(-0.5, 0.5)).add(maximum(a, b!)).sub(minimum(a, b!).pow(2))
    .add(b!.abs().add(0.5).pow(a)).add(where(a.gt(b!), a, b!.mul(2))),
  embedding: (w, i) => embedding(i!, w),
  gather_scatter: (x, i) => x.gather(1, i!).mul(2),
  cat_stack_slice: (a, b) => cat([a, b!], 1).slice(1, 1, 5, 2).add(stack([a, a], 0).sum(0).slice(1, null, 2).mean()),
  tril_masked_mean: (x) => tril(x, -1).mean(0).add(triu(x).sum()),
};

describe('values and gradients match PyTorch (tests/reference/torch-reference.json)', () => {
  it('covers every reference case', () => {
    expect(ref.cases.map((c) => c.name).filter((n) => !(n in ours))).toEqual([]);
  });

  for (const c of ref.cases) {
    it(c.name, async () => {
      const inputs = c.inputs.map((x) => tensor(x.values, { shape: x.shape, dtype: x.dtype, requiresGrad: x.dtype === 'float64' }));
      const out = ours[c.name]!(...inputs);
      expect(out.shape).toEqual(c.output.shape);
      const got = await out.data();
      const r = compareArrays(got, c.output.values, { rtol: 1e-10, atol: 1e-12 });
      expect(r, `output at ${r.index}: ${got[r.index]} vs ${c.output.values[r.index]}`).toMatchObject({ ok: true });
      out.mul(tensor(c.weights, { shape: c.output.shape, dtype: 'float64' })).sum().backward();
      for (let i = 0; i < inputs.length; i++) {
        const expected = c.grads[i];
        if (expected === null || expected === undefined) continue;
        const g = await inputs[i]!.grad!.data();
        const rg = compareArrays(g, expected, { rtol: 1e-9, atol: 1e-12 });
        expect(rg, `grad of input ${i} at ${rg.index}: ${g[rg.index]} vs ${expected[rg.index]}`).toMatchObject({ ok: true });
      }
    });
  }
});
