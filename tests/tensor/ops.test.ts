import { expect, it, describe } from 'vitest';
import fc from 'fast-check';
import {
  arange, cat, chunk, crossEntropy, dropout, dropoutAdd, embedding, eye, full, linspace, logSoftmax, logspace, manualSeed, multinomial, ones, rand, randint,
  randn, softmax, split, stack, tensor, topk, tril, triu, where, zeros, type Device, type Tensor,
} from '@llmts/tensor';
import { describeEachDevice } from '../helpers/devices.ts';
import { numelOf, shapeArb } from '../helpers/arbitraries.ts';

const close = (a: number, b: number, tol = 1e-5) => Math.abs(a - b) <= tol * (1 + Math.abs(b));

describeEachDevice('creation', (device: Device) => {
  const on = { device };
  it('builds tensors from nested arrays, numbers and typed arrays', async () => {
    const t = tensor([[1, 2, 3], [4, 5, 6]], on);
    expect(t.shape).toEqual([2, 3]);
    expect(t.dtype).toBe('int32'); // integers give int32, as PyTorch's int64
    expect(await t.toArray()).toEqual([[1, 2, 3], [4, 5, 6]]);
    expect(tensor([1, 2.5], on).dtype).toBe('float32');
    expect(tensor([1, 2], { ...on, requiresGrad: true }).dtype).toBe('float32');
    expect(tensor([[1, 2]], { ...on, dtype: 'float32' }).dtype).toBe('float32');
    expect(tensor([], on).dtype).toBe('float32');
    expect(tensor([3e9], on).dtype).toBe('float32'); // past int32: kept as a float
    expect(tensor(7, on).dtype).toBe('int32');
    expect(await tensor(3.5, on).item()).toBe(3.5);
    expect(tensor(3.5, on).shape).toEqual([]);
    expect(await tensor([true, false], on).toArray()).toEqual([true, false]);
    const typed = tensor(new Float32Array([1, 2, 3, 4, 5, 6]), { ...on, shape: [3, 2] });
    expect(await typed.toArray()).toEqual([[1, 2], [3, 4], [5, 6]]);
    expect(tensor(new Int32Array([1, 2]), on).dtype).toBe('int32');
    expect(await tensor(new Float32Array([1, 2, 3, 4]), [2, 2], on).toArray()).toEqual([[1, 2], [3, 4]]);
    expect(await tensor([1.7, -1.7], { ...on, dtype: 'int32' }).toArray()).toEqual([1, -1]);
    expect(await tensor([[1, 2]], { ...on, dtype: 'float32' }).data()).toBeInstanceOf(Float32Array);
    expect(await tensor([[1, 2]], on).data()).toBeInstanceOf(Int32Array);
  });

  it('fills, ranges and identities', async () => {
    expect(await zeros([2, 2], on).toArray()).toEqual([[0, 0], [0, 0]]);
    expect(await ones([2], { ...on, dtype: 'int32' }).toArray()).toEqual([1, 1]);
    expect(await full([2], 7, on).toArray()).toEqual([7, 7]);
    expect(arange(5, undefined, on).dtype).toBe('int32');
    expect(await arange(5, undefined, on).toArray()).toEqual([0, 1, 2, 3, 4]);
    expect(await arange(1, 10, 3, on).toArray()).toEqual([1, 4, 7]);
    expect(await arange(0, 1, 0.25, on).toArray()).toEqual([0, 0.25, 0.5, 0.75]);
    expect(await arange(5, 0, -2, on).toArray()).toEqual([5, 3, 1]);
    expect(await linspace(0, 1, 5, on).toArray()).toEqual([0, 0.25, 0.5, 0.75, 1]);
    const ls = (await logspace(0, 3, 4, 10, on).toArray()) as number[];
    expect(ls.map((v) => Math.round(v))).toEqual([1, 10, 100, 1000]);
    expect(await eye(2, 3, on).toArray()).toEqual([[1, 0, 0], [0, 1, 0]]);
    expect(await tril(ones([3, 3], on)).toArray()).toEqual([[1, 0, 0], [1, 1, 0], [1, 1, 1]]);
    expect(await triu(ones([2, 3], on), 1).toArray()).toEqual([[0, 1, 1], [0, 0, 1]]);
    expect(await tril(ones([2, 2, 2], on), -1).toArray()).toEqual([[[0, 0], [1, 0]], [[0, 0], [1, 0]]]);
  });

  it('draws reproducibly from the seeded generator', async () => {
    manualSeed(42);
    const a = await rand([100], on).data();
    const b = await randn([100], on).data();
    manualSeed(42);
    expect(await rand([100], on).data()).toEqual(a);
    expect(await randn([100], on).data()).toEqual(b);
    expect(await rand([100], on).data()).not.toEqual(a);
    expect(Math.min(...a)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...a)).toBeLessThan(1);
    const ints = await randint(3, 7, [1000], on).data();
    expect(Math.min(...ints)).toBe(3);
    expect(Math.max(...ints)).toBe(6);
  });

  it('randn has mean 0 and std 1; rand is uniform', async () => {
    manualSeed(1);
    const n = randn([20000], on);
    expect(Math.abs(await n.mean().item())).toBeLessThan(0.03);
    expect(Math.abs((await n.std().item()) - 1)).toBeLessThan(0.03);
    const u = rand([20000], on);
    expect(Math.abs((await u.mean().item()) - 0.5)).toBeLessThan(0.01);
    expect(Math.abs((await u.var().item()) - 1 / 12)).toBeLessThan(0.005);
  });
});

describeEachDevice('elementwise and dtype promotion', (device) => {
  const on = { device };
  it('accepts plain numbers where PyTorch accepts scalars', async () => {
    const x = tensor([1, 2, 3], { ...on, dtype: 'float32' });
    expect(await x.add(1).toArray()).toEqual([2, 3, 4]);
    expect(await x.mul(2).sub(1).div(2).toArray()).toEqual([0.5, 1.5, 2.5]);
    expect(await x.pow(2).toArray()).toEqual([1, 4, 9]);
    const i = tensor([1, 2, 3], { ...on, dtype: 'int32' });
    expect(i.mul(2).dtype).toBe('int32');
    expect(i.mul(0.5).dtype).toBe('float32');
    expect(i.div(2).dtype).toBe('float32');
    expect(await i.div(2).toArray()).toEqual([0.5, 1, 1.5]);
    expect(i.add(x).dtype).toBe('float32');
    if (device === 'cpu') expect(tensor([1], { ...on, dtype: 'float64' }).add(x.slice(0, 0, 1)).dtype).toBe('float64');
    else expect(() => tensor([1], { ...on, dtype: 'float64' })).toThrow(/float64 is CPU-only/);
  });

  it('compares into bool and selects with where / maskedFill', async () => {
    const x = tensor([[1, -2], [3, 0]], { ...on, dtype: 'float32' });
    expect(x.gt(0).dtype).toBe('bool');
    expect(await x.gt(0).toArray()).toEqual([[true, false], [true, false]]);
    expect(await x.eq(0).logicalOr(x.lt(-1)).toArray()).toEqual([[false, true], [false, true]]);
    expect(await where(x.gt(0), x, 0).toArray()).toEqual([[1, 0], [3, 0]]);
    const mask = tril(ones([2, 2], on));
    expect(await x.maskedFill(mask.eq(0), -Infinity).toArray()).toEqual([[1, -Infinity], [3, 0]]);
    const ints = tensor([[1, -2], [3, 0]], on);
    expect(await ints.maskedFill(mask.eq(0), 9).toArray()).toEqual([[1, 9], [3, 0]]);
    expect(() => ints.maskedFill(mask.eq(0), -Infinity)).toThrow(/maskedFill: value -Infinity cannot be converted to int32/);
  });

  it('broadcasts like NumPy (property)', () => {
    fc.assert(fc.property(shapeArb(0, 3), shapeArb(0, 3), (sa, sb) => {
      let expected: number[] | null = [];
      const r = Math.max(sa.length, sb.length);
      for (let i = 0; i < r && expected; i++) {
        const a = sa[sa.length - r + i] ?? 1, b = sb[sb.length - r + i] ?? 1;
        if (a !== b && a !== 1 && b !== 1) expected = null;
        else expected.push(Math.max(a, b));
      }
      const run = () => zeros(sa, on).add(zeros(sb, on)).shape;
      if (expected === null) expect(run).toThrow(/cannot be broadcast/);
      else expect(run()).toEqual(expected);
    }), { numRuns: 100 });
  });

  it('computes unary math on the whole tensor', async () => {
    const x = tensor([-1, 0, 0.5, 2], on);
    const expectAll = async (t: Tensor, f: (v: number) => number) => {
      const got = await t.data();
      [-1, 0, 0.5, 2].forEach((v, k) => expect(close(got[k]!, f(v), 1e-6)).toBe(true));
    };
    await expectAll(x.exp(), Math.exp);
    await expectAll(x.tanh(), Math.tanh);
    await expectAll(x.sigmoid(), (v) => 1 / (1 + Math.exp(-v)));
    await expectAll(x.relu(), (v) => Math.max(v, 0));
    await expectAll(x.abs(), Math.abs);
    await expectAll(x.sin(), Math.sin);
    await expectAll(x.erf(), (v) => [-0.8427007929497149, 0, 0.5204998778130465, 0.9953222650189527][[-1, 0, 0.5, 2].indexOf(v)]!);
    await expectAll(x.clamp(0, 1), (v) => Math.min(Math.max(v, 0), 1));
    await expectAll(x.gelu(), (v) => 0.5 * v * (1 + [-0.6826894921370859, 0, 0.38292492254802624, 0.9544997361036416][[-1, 0, 0.5, 2].indexOf(v)]!));
  });
});

describeEachDevice('reductions', (device) => {
  const on = { device };
  const x = () => tensor([[1, 5, 3], [4, 2, 6]], on);
  it('sum, mean, max, min over dims with keepdim and negative dims', async () => {
    expect(await x().sum().item()).toBe(21);
    expect(await x().sum(0).toArray()).toEqual([5, 7, 9]);
    expect(await x().sum(-1, true).toArray()).toEqual([[9], [12]]);
    expect(await x().sum([0, 1]).item()).toBe(21);
    expect(await x().mean(1).toArray()).toEqual([3, 4]);
    expect(await x().amax(1).toArray()).toEqual([5, 6]);
    expect(await x().amin(0, true).toArray()).toEqual([[1, 2, 3]]);
    expect(await x().max().item()).toBe(6);
    const { values, indices } = x().max(1);
    expect(await values.toArray()).toEqual([5, 6]);
    expect(await indices.toArray()).toEqual([1, 2]);
    expect(indices.dtype).toBe('int32');
    const low = x().min(0, true);
    expect(await low.values.toArray()).toEqual([[1, 2, 3]]);
    expect(await low.indices.toArray()).toEqual([[0, 1, 0]]);
    expect(await tensor([true, true, false], on).sum().item()).toBe(2);
  });
  it('argmax/argmin pick the first extreme', async () => {
    expect(await x().argmax(1).toArray()).toEqual([1, 2]);
    expect(await x().argmin(-1, true).toArray()).toEqual([[0], [1]]);
    expect(await x().argmax().item()).toBe(5);
    expect(await tensor([3, 7, 7, 1], on).argmax().item()).toBe(1);
    expect(x().argmax(1).dtype).toBe('int32');
  });
  it('var and std use Bessel correction unless told', async () => {
    const v = tensor([1, 2, 3, 4], on);
    expect(close(await v.var().item(), 1.6666667)).toBe(true);
    expect(close(await v.var(0, { correction: 0 }).item(), 1.25)).toBe(true);
    expect(close(await v.std().item(), Math.sqrt(5 / 3))).toBe(true);
  });
});

describeEachDevice('matmul', (device) => {
  const on = { device };
  const naive = (a: number[], b: number[], M: number, K: number, N: number) => {
    const out = new Array(M * N).fill(0);
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) for (let k = 0; k < K; k++) out[i * N + j] += a[i * K + k]! * b[k * N + j]!;
    return out;
  };
  it('matches a naive product for any sizes, including transposed operands (property)', async () => {
    await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 70 }), fc.integer({ min: 1, max: 70 }), fc.integer({ min: 1, max: 70 }), fc.boolean(), async (M, K, N, transB) => {
      manualSeed(M * 10000 + K * 100 + N);
      const a = randn([M, K], on);
      const b = transB ? randn([N, K], on).transpose(0, 1) : randn([K, N], on);
      const got = await a.matmul(b).data();
      const want = naive([...(await a.data())], [...(await b.contiguous().data())], M, K, N);
      for (let i = 0; i < want.length; i++) if (!close(got[i]!, want[i]!, 1e-4)) throw new Error(`M${M} K${K} N${N} at ${i}: ${got[i]} vs ${want[i]}`);
    }), { numRuns: 25 });
  });
  it('broadcasts batch dims and handles 1-D operands', async () => {
    const a = ones([2, 1, 3, 4], on);
    const b = ones([5, 4, 2], on);
    expect(a.matmul(b).shape).toEqual([2, 5, 3, 2]);
    expect(await a.matmul(b).max().item()).toBe(4);
    expect(ones([4], on).matmul(ones([4], on)).shape).toEqual([]);
    expect(ones([4], on).matmul(ones([3, 4, 2], on)).shape).toEqual([3, 2]);
    expect(ones([3, 4], on).matmul(ones([4], on)).shape).toEqual([3]);
  });
});

describeEachDevice('shape ops', (device) => {
  const on = { device };
  const x = () => arange(24, undefined, on).view(2, 3, 4);
  it('view, reshape, permute, transpose, contiguous', async () => {
    expect(x().view(-1, 4).shape).toEqual([6, 4]);
    expect(x().view([4, 6]).shape).toEqual([4, 6]);
    const t = x().transpose(1, 2);
    expect(t.shape).toEqual([2, 4, 3]);
    expect(t.isContiguous()).toBe(false);
    expect(() => t.view(-1)).toThrow(/cannot be viewed .* use reshape/);
    expect(await t.reshape(-1).slice(0, 0, 4).toArray()).toEqual([0, 4, 8, 1]);
    expect(await t.contiguous().view(2, 12).select(0, 0).slice(0, 0, 3).toArray()).toEqual([0, 4, 8]);
    expect(x().permute(2, 0, 1).shape).toEqual([4, 2, 3]);
    expect(await x().permute(2, 0, 1).select(0, 1).toArray()).toEqual([[1, 5, 9], [13, 17, 21]]);
    expect(x().T.shape).toEqual([4, 3, 2]);
    expect(x().mT.shape).toEqual([2, 4, 3]);
  });
  it('slices with negative indices, steps and clamping like Python', async () => {
    await fc.assert(fc.asyncProperty(fc.integer({ min: 0, max: 8 }), fc.integer({ min: -10, max: 10 }), fc.integer({ min: -10, max: 10 }), fc.integer({ min: 1, max: 3 }), async (n, s, e, step) => {
      const values = [...Array(n).keys()];
      const norm = (i: number) => Math.min(Math.max(i < 0 ? i + n : i, 0), n);
      const want: number[] = [];
      for (let i = norm(s); i < norm(e); i += step) want.push(values[i]!);
      expect(await arange(n, undefined, on).slice(0, s, e, step).toArray()).toEqual(want);
    }), { numRuns: 60 });
  });
  it('narrow, select, squeeze, unsqueeze, flatten, expand', async () => {
    expect(await x().narrow(2, 1, 2).select(0, 1).toArray()).toEqual([[13, 14], [17, 18], [21, 22]]);
    expect(x().select(1, -1).shape).toEqual([2, 4]);
    expect(x().unsqueeze(0).unsqueeze(-1).shape).toEqual([1, 2, 3, 4, 1]);
    expect(x().unsqueeze(0).unsqueeze(-1).squeeze().shape).toEqual([2, 3, 4]);
    expect(x().unsqueeze(1).squeeze(1).shape).toEqual([2, 3, 4]);
    expect(x().flatten(1).shape).toEqual([2, 12]);
    expect(x().flatten().shape).toEqual([24]);
    expect(await tensor([[1], [2]], on).expand(2, 3).toArray()).toEqual([[1, 1, 1], [2, 2, 2]]);
    expect(tensor([1, 2], on).expand(3, -1).shape).toEqual([3, 2]);
  });
  it('cat, stack, split, chunk', async () => {
    const a = tensor([[1, 2]], on), b = tensor([[3, 4], [5, 6]], on);
    expect(await cat([a, b], 0).toArray()).toEqual([[1, 2], [3, 4], [5, 6]]);
    expect(await cat([b, b], 1).toArray()).toEqual([[3, 4, 3, 4], [5, 6, 5, 6]]);
    expect(await stack([a, a], 0).toArray()).toEqual([[[1, 2]], [[1, 2]]]);
    expect(stack([b, b], -1).shape).toEqual([2, 2, 2]);
    expect(split(arange(5, undefined, on), 2).map((t) => t.shape[0])).toEqual([2, 2, 1]);
    expect(split(arange(5, undefined, on), [1, 4]).map((t) => t.shape[0])).toEqual([1, 4]);
    expect(chunk(arange(6, undefined, on), 4).map((t) => t.shape[0])).toEqual([2, 2, 2]);
    const [q, k, v] = randn([2, 3, 12], on).split(4, 2);
    expect([q!.shape, k!.shape, v!.shape]).toEqual([[2, 3, 4], [2, 3, 4], [2, 3, 4]]);
  });
  it('contiguous copies keep values for any permutation (property)', async () => {
    await fc.assert(fc.asyncProperty(shapeArb(1, 4), fc.nat(), async (shape, seed) => {
      const n = numelOf(shape);
      const base = arange(n, undefined, on).view(shape);
      const perm = [...shape.keys()].sort((p, q) => ((p * 7919 + seed) % 13) - ((q * 7919 + seed) % 13));
      const values = await base.permute(perm).contiguous().data();
      const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
      const pshape = perm.map((p) => shape[p]!);
      const idx = new Array(pshape.length).fill(0);
      for (let f = 0; f < n; f++) {
        const src = idx.reduce((acc, v, d) => acc + v * strides[perm[d]!]!, 0);
        if (values[f] !== src) throw new Error(`shape [${shape}] perm [${perm}] flat ${f}: ${values[f]} vs ${src}`);
        for (let d = pshape.length - 1; d >= 0; d--) { if (++idx[d] < pshape[d]!) break; idx[d] = 0; }
      }
    }), { numRuns: 50 });
  });
});

describeEachDevice('indexing', (device) => {
  const on = { device };
  it('gather, indexSelect, embedding, scatterAdd with duplicates', async () => {
    const x = tensor([[1, 2, 3], [4, 5, 6]], on);
    const idx = tensor([[2, 0], [1, 1]], { ...on, dtype: 'int32' });
    expect(await x.gather(1, idx).toArray()).toEqual([[3, 1], [5, 5]]);
    expect(await x.indexSelect(1, tensor([2, 2, 0], { ...on, dtype: 'int32' })).toArray()).toEqual([[3, 3, 1], [6, 6, 4]]);
    const w = tensor([[0, 0], [1, 1], [2, 2]], on);
    const e = embedding(tensor([[2, 1], [0, 2]], { ...on, dtype: 'int32' }), w);
    expect(e.shape).toEqual([2, 2, 2]);
    expect(await e.toArray()).toEqual([[[2, 2], [1, 1]], [[0, 0], [2, 2]]]);
    const s = zeros([3], on).scatterAdd(0, tensor([0, 2, 0, 0], on), tensor([1, 2, 3, 4], { ...on, dtype: 'float32' }));
    expect(await s.toArray()).toEqual([8, 0, 2]);
  });
  it('topk returns values and indices, largest first', async () => {
    const { values, indices } = topk(tensor([[1, 9, 3, 7], [4, 4, 8, 0]], on), 2);
    expect(await values.toArray()).toEqual([[9, 7], [8, 4]]);
    expect(await indices.toArray()).toEqual([[1, 3], [2, 0]]);
    expect(await topk(tensor([3, 1, 2], on), 2, 0, false).values.toArray()).toEqual([1, 2]);
  });
});

describeEachDevice('nn functions', (device) => {
  const on = { device };
  it('softmax rows sum to 1 and logSoftmax is stable for huge logits', async () => {
    manualSeed(3);
    const s = softmax(randn([4, 10], on).mul(5), -1).sum(-1);
    for (const v of await s.data()) expect(close(v, 1, 1e-5)).toBe(true);
    const ls = await logSoftmax(tensor([[1000, 0], [-1000, 1000]], on), -1).toArray();
    expect(ls).toEqual([[0, -1000], [-2000, 0]]);
  });
  it('crossEntropy of uniform logits is log(C); ignored targets are left out', async () => {
    const logits = zeros([3, 8], on);
    const t = tensor([1, -100, 5], { ...on, dtype: 'int32' });
    expect(close(await crossEntropy(logits, t).item(), Math.log(8))).toBe(true);
    expect(close(await crossEntropy(logits, t, { reduction: 'sum' }).item(), 2 * Math.log(8))).toBe(true);
    expect(Number.isNaN(await crossEntropy(logits, tensor([-100, -100, -100], { ...on, dtype: 'int32' })).item())).toBe(true);
  });
  it('dropout zeroes about p, scales the rest, and is identity in eval', async () => {
    manualSeed(5);
    const x = ones([10000], on);
    const y = await dropout(x, 0.25, true).data();
    const zerosFrac = y.filter((v) => v === 0).length / y.length;
    expect(Math.abs(zerosFrac - 0.25)).toBeLessThan(0.02);
    expect(y.filter((v) => v !== 0).every((v) => close(v, 1 / 0.75))).toBe(true);
    expect(dropout(x, 0.25, false)).toBe(x);
  });
  it('dropout is one kernel with exactly the values and gradients of where(rand(shape).ge(p), x.mul(1 / (1 - p)), 0)', async () => {
    for (const [shape, p, strided] of [[[64, 300], 0.2, false], [[7, 5, 9], 0.5, true], [[1000], 0.9, false]] as const) {
      const x = randn([...shape], on);
      const view = () => (strided ? x.transpose(0, 2) : x);
      const seed = shape[0] * 31 + p * 100;
      manualSeed(seed);
      const a = view().detach().requiresGrad_();
      const fused = dropout(a, p, true);
      fused.mul(view().detach()).sum().backward();
      manualSeed(seed);
      const b = view().detach().requiresGrad_();
      const composed = where(rand([...b.shape], on).ge(p), b.mul(1 / (1 - p)), 0);
      composed.mul(view().detach()).sum().backward();
      expect([...await fused.data()]).toEqual([...await composed.data()]);
      expect([...await a.grad!.data()]).toEqual([...await b.grad!.data()]);
    }
  });
  it('dropoutAdd(x, y, p) is x.add(dropout(y, p)) in one kernel: the same values, draw and gradients', async () => {
    for (const [shape, p] of [[[4, 33, 64], 0.2], [[5, 7], 0.5]] as const) {
      const x0 = randn([...shape], on), y0 = randn([...shape], on), w = randn([...shape], on);
      const results: number[][] = [];
      for (const fused of [true, false]) {
        const x = x0.detach().requiresGrad_(), y = y0.detach().requiresGrad_();
        manualSeed(41);
        const out = fused ? dropoutAdd(x, y, p, true) : x.add(dropout(y, p, true));
        out.mul(w).sum().backward();
        results.push([...await out.data()], [...await x.grad!.data()], [...await y.grad!.data()]);
      }
      for (let k = 0; k < 3; k++) expect(results[k]).toEqual(results[k + 3]);
    }
    const x = randn([3, 4], on), y = randn([3, 4], on);
    expect([...await dropoutAdd(x, y, 0.3, false).data()]).toEqual([...await x.add(y).data()]);
  });
  it('multinomial samples by weight, reproducibly, with or without replacement', async () => {
    manualSeed(11);
    const probs = tensor([[0.1, 0.0, 0.9], [1, 1, 2]], on);
    const draws = await multinomial(probs, 1000, { replacement: true }).data();
    const row0 = [...draws.slice(0, 1000)];
    expect(row0.includes(1)).toBe(false);
    expect(Math.abs(row0.filter((v) => v === 2).length / 1000 - 0.9)).toBeLessThan(0.04);
    const row1 = [...draws.slice(1000)];
    expect(Math.abs(row1.filter((v) => v === 2).length / 1000 - 0.5)).toBeLessThan(0.05);
    manualSeed(11);
    expect(await multinomial(probs, 1000, { replacement: true }).data()).toEqual(draws);
    const noRep = await multinomial(tensor([1, 1, 1, 1], { ...on, dtype: 'float32' }), 4).data();
    expect(() => multinomial(tensor([1, 1], on), 1)).toThrow(/multinomial: probabilities must be floating point, got int32/);
    expect([...noRep].sort()).toEqual([0, 1, 2, 3]);
  });
});

describe('readback', () => {
  it('toArray nests, item reads one value, data is a typed array', async () => {
    const t = tensor([[1, 2], [3, 4]], { dtype: 'int32' });
    expect(await t.toArray()).toEqual([[1, 2], [3, 4]]);
    expect(await t.tolist()).toEqual([[1, 2], [3, 4]]);
    expect(await t.data()).toEqual(new Int32Array([1, 2, 3, 4]));
    await expect(t.item()).rejects.toThrow(/only one-element tensors/);
    expect(await t.select(0, 1).select(0, 0).item()).toBe(3);
    expect(await t.format()).toContain('[[1,2],[3,4]]');
  });
});
