import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { argmax, argmin, crossEntropy, dropout, gelu, hasBackend, layerNorm, linear, linearGelu, logSoftmax, manualSeed, randn, softmax, tensor, topk, type Tensor } from '@llmts/tensor';
import { compareArrays, getBackend, type DifferentiableOp } from '@llmts/tensor/internal';
import { gradCases } from '../helpers/gradcases.ts';
import { assertParity, type Tolerance } from '../helpers/parity.ts';
import { broadcastPairArb, distinctValuesArb, hostArb, shapeArb } from '../helpers/arbitraries.ts';

/** Tolerances per op (float32 on both devices; the GPU's transcendental functions and summation order differ). */
const DEFAULT: Tolerance = { rtol: 1e-4, atol: 1e-5 };
const tolerances: Partial<Record<DifferentiableOp, Tolerance>> = {
  exp: { rtol: 2e-5, atol: 1e-5 },
  erf: { rtol: 1e-4, atol: 2e-6 },
  pow: { rtol: 2e-4, atol: 1e-5 },
  matmul: { rtol: 1e-4, atol: 1e-4 },
  sum: { rtol: 1e-4, atol: 1e-4 },
  sigmoid: { rtol: 1e-4, atol: 1e-6 },
  tanh: { rtol: 1e-4, atol: 1e-5 },
};

describe.skipIf(!hasBackend('gpu'))('CPU/GPU parity, forward and backward, every differentiable primitive', () => {
  for (const [op, c] of Object.entries(gradCases) as [DifferentiableOp, typeof gradCases[DifferentiableOp]][]) {
    it(`${op} (rtol ${(tolerances[op] ?? DEFAULT).rtol}, atol ${(tolerances[op] ?? DEFAULT).atol})`, () => assertParity(c.arb, tolerances[op] ?? DEFAULT, true, 6));
  }
});

const unaryArb = (run: (x: Tensor) => Tensor, min = -3, max = 3) =>
  shapeArb(0, 3).chain((s) => hostArb(s, min, max)).map((x) => ({ inputs: [x], run, label: `[${x.shape}]` }));
const pairArb = (run: (a: Tensor, b: Tensor) => Tensor, ints = false) =>
  broadcastPairArb().chain(([sa, sb]) => fc.tuple(hostArb(sa, -3, 3), hostArb(sb, -3, 3)).map(([a, b]) => ({
    inputs: ints ? [{ ...a, values: a.values.map(Math.round), dtype: 'int32' as const }, { ...b, values: b.values.map(Math.round), dtype: 'int32' as const }] : [a, b],
    run,
    label: `[${sa}] [${sb}]`,
  })));

describe.skipIf(!hasBackend('gpu'))('CPU/GPU parity of non-differentiable primitives and composites', () => {
  const exact: Tolerance = { rtol: 0, atol: 0 };
  it('comparisons and logical ops (exact)', () => assertParity(pairArb((a, b) => a.lt(b).logicalOr(a.eq(b.mul(0))).logicalAnd(a.ne(b)).logicalNot().to('float32')), exact, false, 10));
  it('sign (exact)', () => assertParity(unaryArb((x) => x.sign()), exact, false, 10));
  it('int32 arithmetic: add, sub, mul, pow, maximum, minimum, clamp (exact)', () =>
    assertParity(pairArb((a, b) => a.add(b).mul(a).sub(b.pow(2)).maximum(a).minimum(b.add(5)).clamp(-4, 7), true), exact, false, 10));
  it('argmax and argmin over a dim (exact, distinct values)', () => assertParity(
    shapeArb(1, 3).chain((s) => fc.tuple(distinctValuesArb(s), fc.integer({ min: -s.length, max: s.length - 1 }), fc.boolean()).map(([values, d, keep]) => ({
      inputs: [{ shape: s, values, dtype: 'float64' as const }],
      run: (x: Tensor) => argmax(x, d, keep).add(argmin(x, d, keep).mul(100)).to('float32'),
      label: `[${s}] dim ${d} keepdim ${keep}`,
    }))), exact, false, 10));
  it('topk indices along any dim (exact, distinct values)', () => assertParity(
    shapeArb(1, 3).chain((s) => fc.tuple(distinctValuesArb(s), fc.integer({ min: -s.length, max: s.length - 1 }), fc.integer({ min: 1, max: 4 }), fc.boolean()).map(([values, d, k, largest]) => ({
      inputs: [{ shape: s, values, dtype: 'float64' as const }],
      run: (x: Tensor) => topk(x, Math.min(k, x.shape[d < 0 ? d + x.ndim : d]!), d, largest).indices.to('float32'),
      label: `[${s}] k ${k} dim ${d} largest ${largest}`,
    }))), exact, false, 10));
  it('softmax, logSoftmax, layerNorm, gelu, crossEntropy (forward and backward)', () => assertParity(
    shapeArb(2, 3).chain((s) => fc.tuple(hostArb(s, -3, 3), fc.array(fc.integer({ min: 0, max: s[1]! - 1 }), { minLength: s[0]!, maxLength: s[0]! }))).map(([x, t]) => ({
      inputs: [x],
      run: (l: Tensor) => {
        const flat = l.reshape(l.shape[0]!, l.shape[1]!, -1).select(2, 0);
        const ce = crossEntropy(flat, hostTargets(t, l));
        return softmax(l, -1).add(logSoftmax(l, 1)).add(layerNorm(l, [l.shape[l.ndim - 1]!])).add(gelu(l, { approximate: 'tanh' })).add(gelu(l)).sum().add(ce);
      },
      label: `[${x.shape}]`,
    })), { rtol: 1e-4, atol: 1e-4 }, true, 8));
});

describe.skipIf(!hasBackend('gpu'))('CPU/GPU parity of the dropout kernel', () => {
  it('the same elements dropped and the same values, forward and backward, any layout (exact)', () => assertParity(
    shapeArb(1, 4).chain((s) => fc.tuple(hostArb(s, -3, 3), fc.integer({ min: 0, max: 1000 }), fc.constantFrom(0.1, 0.25, 0.5, 0.9), fc.boolean())).map(([x, seed, p, transposed]) => ({
      inputs: [x],
      run: (t: Tensor) => {
        manualSeed(seed);
        return dropout(transposed && t.ndim >= 2 ? t.transpose(0, t.ndim - 1) : t, p, true);
      },
      label: `[${x.shape}] seed ${seed} p ${p}${transposed ? ' transposed' : ''}`,
    })), { rtol: 0, atol: 0 }, true, 12));
});

function hostTargets(t: number[], like: Tensor): Tensor {
  return tensor(t, { dtype: 'int32', device: like.device });
}

describe.skipIf(!hasBackend('gpu'))('CPU/GPU parity of LayerNorm backward (dx and the weight and bias gradients in one dispatch)', () => {
  it('rows and columns that span several workgroups and row chunks (GPT-2 width, 4,100 rows: 33 chunks of 128), with and without weight and bias; one dispatch', async () => {
    for (const [rows, C, affine] of [[300, 200, true], [7, 769, true], [64, 33, false], [4100, 768, true], [129, 128, true]] as const) {
      manualSeed(rows + C);
      const x = randn([rows, C]), w = randn([C]), b = randn([C]), g = randn([rows, C]);
      const grads: number[][][] = [];
      for (const device of ['cpu', 'gpu'] as const) {
        const xs = x.to(device).detach().requiresGrad_();
        const ws = affine ? w.to(device).detach().requiresGrad_() : undefined;
        const bs = affine ? b.to(device).detach().requiresGrad_() : undefined;
        const y = layerNorm(xs, [C], ws, bs);
        const gd = g.to(device);
        const before = getBackend(device).counters().dispatches;
        y.backward(gd);
        if (device === 'gpu') expect(getBackend('gpu').counters().dispatches - before).toBe(1);
        grads.push([[...await xs.grad!.data()], ...(affine ? [[...await ws!.grad!.data()], [...await bs!.grad!.data()]] : [])]);
      }
      grads[0]!.forEach((cpu, k) => {
        const r = compareArrays(grads[1]![k]!, cpu, { rtol: 1e-4, atol: 1e-4 });
        if (!r.ok) throw new Error(`rows ${rows} C ${C}: gradient ${k} differs at ${r.index}: gpu ${grads[1]![k]![r.index]} cpu ${cpu[r.index]}`);
      });
    }
  });
});

describe.skipIf(!hasBackend('gpu'))('linear: the bias added in the matmul epilogue on the GPU', () => {
  it('linearGelu: GELU in the matmul epilogue equals gelu(x·Wᵀ + b) on the CPU, forward and gradients, exact and tanh, both kernels; one dispatch forward', async () => {
    for (const [rows, K, N, approximate, withBias] of [[37, 30, 20, 'none', true], [96, 64, 256, 'tanh', true], [130, 64, 200, 'none', true], [64, 48, 192, 'tanh', false]] as const) {
      manualSeed(rows + N);
      const x0 = randn([rows, K]), w0 = randn([N, K]).mul(0.2), b0 = randn([N]);
      const out: number[][][] = [];
      for (const device of ['gpu', 'cpu'] as const) {
        const [x, w, b] = [x0, w0, b0].map((t) => t.to(device).detach().requiresGrad_()) as [Tensor, Tensor, Tensor];
        const before = getBackend('gpu').counters().dispatches;
        const y = device === 'gpu' ? linearGelu(x, w, withBias ? b : null, { approximate }) : gelu(withBias ? x.matmul(w.T).add(b) : x.matmul(w.T), { approximate });
        if (device === 'gpu') expect(getBackend('gpu').counters().dispatches - before).toBe(1);
        y.mul(y.detach().add(1)).sum().backward();
        out.push([[...await y.data()], [...await x.grad!.data()], [...await w.grad!.data()], withBias ? [...await b.grad!.data()] : []]);
      }
      out[0]!.forEach((v, k) => {
        const r = compareArrays(v, out[1]![k]!, { rtol: 1e-4, atol: 1e-4 });
        if (!r.ok) throw new Error(`${rows}x${K}·${N} ${approximate}: ${['y', 'dx', 'dW', 'db'][k]} differs at ${r.index}: gpu ${v[r.index]} cpu ${out[1]![k]![r.index]}`);
      });
    }
  });

  it('backward is two dispatches: dx, and dW with db beside it', async () => {
    const x = randn([96, 64], { device: 'gpu' }).requiresGrad_(), w = randn([128, 64], { device: 'gpu' }).requiresGrad_(), b = randn([128], { device: 'gpu' }).requiresGrad_();
    const y = linear(x, w, b);
    const g = randn([96, 128], { device: 'gpu' });
    await getBackend('gpu').sync();
    const before = getBackend('gpu').counters().dispatches;
    y.backward(g);
    expect(getBackend('gpu').counters().dispatches - before).toBe(2);
    const [db, want] = [await b.grad!.data(), await g.sum(0).data()];
    const r = compareArrays(db, want, { rtol: 1e-5, atol: 1e-5 });
    expect(r.ok, `db differs at ${r.index}`).toBe(true);
    for (const t of [x, w, b, y, g]) t.dispose();
  });

  it('equals x·Wᵀ + b on the CPU, forward and the gradients of x, W and b (one dispatch for dW and db), batched and strided inputs', async () => {
    // the last two take the large-tile kernel for the weight gradient (aligned, >= 64), the others the 64×64 one
    for (const [shape, N, strided] of [[[2, 5, 7], 3, false], [[130, 70], 65, false], [[4, 9, 33], 100, true], [[3, 64, 96], 128, false], [[1000, 64], 64, false]] as const) {
      manualSeed(shape.length * 10 + N);
      const K = shape[shape.length - 1]!;
      const x0 = strided ? randn([...shape.slice(0, -2), K, shape[shape.length - 2]!]).transpose(-2, -1) : randn([...shape]);
      const w0 = randn([N, K]), b0 = randn([N]);
      const out: number[][][] = [];
      for (const device of ['gpu', 'cpu'] as const) {
        const x = x0.to(device).detach().requiresGrad_(), w = w0.to(device).detach().requiresGrad_(), b = b0.to(device).detach().requiresGrad_();
        const y = device === 'gpu' ? linear(x, w, b) : x.matmul(w.T).add(b);
        y.mul(y.onesLike().mul(0.5).add(y.detach())).sum().backward();
        out.push([[...await y.data()], [...await x.grad!.data()], [...await w.grad!.data()], [...await b.grad!.data()]]);
      }
      // dW and db sum over every row: 1,000 float32 terms with cancellation round differently on each side
      const atol = x0.numel() / K > 500 ? 5e-4 : 1e-4;
      out[0]!.forEach((v, k) => {
        const r = compareArrays(v, out[1]![k]!, { rtol: 1e-4, atol });
        if (!r.ok) throw new Error(`[${shape}] N ${N}${strided ? ' strided' : ''}: ${['y', 'dx', 'dW', 'db'][k]} differs at ${r.index}: gpu ${v[r.index]} cpu ${out[1]![k]![r.index]}`);
      });
    }
  });
});
