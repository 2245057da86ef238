import { describe, expect, it } from 'vitest';
import { causalSoftmax, dropout, gradcheck, hasBackend, liveBytes, manualSeed, randn, scaledDotProductAttention, selfAttention, softmax, tensor, tidy, type Device, type Tensor } from '@llmts/tensor';
import { compareArrays } from '@llmts/tensor/internal';

interface Case { B: number; H: number; Tq: number; Tk: number; D: number; p: number; causal: boolean }

/** What the model computed before the fused op: scores, mask, softmax, dropout, then v. */
function composed(q: Tensor, k: Tensor, v: Tensor, c: Case): Tensor {
  const scores = q.matmul(k.transpose(-2, -1)).mul(1 / Math.sqrt(c.D));
  const att = c.causal ? causalSoftmax(scores, c.Tk - c.Tq) : softmax(scores, -1);
  return dropout(att, c.p, true).matmul(v);
}

async function run(c: Case, device: Device, fused: boolean, seed: number): Promise<number[][]> {
  manualSeed(1000 + c.Tq * 7 + c.D);
  const host = [randn([c.B, c.H, c.Tq, c.D]), randn([c.B, c.H, c.Tk, c.D]), randn([c.B, c.H, c.Tk, c.D])];
  const w = randn([c.B, c.H, c.Tq, c.D]);
  const [q, k, v] = host.map((t) => t.to(device).requiresGrad_());
  manualSeed(seed);
  const y = fused ? scaledDotProductAttention(q!, k!, v!, { causal: c.causal, dropout: c.p }) : composed(q!, k!, v!, c);
  y.mul(w.to(device)).sum().backward();
  return [await y.data(), await q!.grad!.data(), await k!.grad!.data(), await v!.grad!.data()].map((a) => [...a]);
}

function expectClose(got: number[][], want: number[][], tol: { rtol: number; atol: number }, label: string): void {
  ['output', 'dq', 'dk', 'dv'].forEach((name, i) => {
    const r = compareArrays(got[i]!, want[i]!, tol);
    if (!r.ok) throw new Error(`${label}: ${name} differs at ${r.index}: ${got[i]![r.index]} vs ${want[i]![r.index]}`);
  });
}

const CASES: Case[] = [
  { B: 2, H: 6, Tq: 64, Tk: 64, D: 64, p: 0, causal: true }, // shakespeare-char heads
  { B: 1, H: 12, Tq: 128, Tk: 128, D: 64, p: 0.2, causal: true }, // GPT-2 heads, dropout
  { B: 2, H: 4, Tq: 1, Tk: 37, D: 32, p: 0, causal: true }, // one new token against a KV cache
  { B: 1, H: 2, Tq: 5, Tk: 70, D: 16, p: 0.1, causal: true }, // a chunk against a cache
  { B: 2, H: 3, Tq: 33, Tk: 33, D: 8, p: 0.5, causal: false },
  { B: 1, H: 2, Tq: 70, Tk: 70, D: 24, p: 0, causal: true }, // rows not a multiple of the tile
];

const label = (c: Case) => `B${c.B} H${c.H} Tq${c.Tq} Tk${c.Tk} D${c.D} p${c.p}${c.causal ? ' causal' : ''}`;

describe('scaledDotProductAttention', () => {
  it('equals the composition (scores, causal softmax, dropout with the same draw, v), forward and backward, on the CPU', async () => {
    // the last case's weights (40 MB) exceed what the CPU materialises at once: it works through batch and head slices
    for (const c of [...CASES, { B: 2, H: 5, Tq: 1000, Tk: 1000, D: 8, p: 0.1, causal: true }]) expectClose(await run(c, 'cpu', true, 5), await run(c, 'cpu', false, 5), { rtol: 1e-4, atol: 2e-5 }, label(c));
  });

  it('passes a float64 gradient check with and without dropout', () => {
    for (const [p, causal, Tq, Tk] of [[0, true, 4, 4], [0.3, true, 3, 5], [0.25, false, 4, 3]] as const) {
      manualSeed(3);
      const q = randn([1, 2, Tq, 3], { dtype: 'float64', requiresGrad: true }), k = randn([1, 2, Tk, 3], { dtype: 'float64', requiresGrad: true }), v = randn([1, 2, Tk, 3], { dtype: 'float64', requiresGrad: true });
      const r = gradcheck((a, b, c) => { manualSeed(9); return scaledDotProductAttention(a!, b!, c!, { causal, dropout: p }); }, [q, k, v], { eps: 1e-6, rtol: 1e-5, atol: 1e-7 });
      expect(r.ok, JSON.stringify(r.details)).toBe(true);
    }
  });

  it('keeps nothing of size Tq × Tk for backward', () => {
    manualSeed(4);
    const [B, H, T, D] = [1, 4, 512, 16];
    const q = randn([B, H, T, D], { requiresGrad: true }), k = randn([B, H, T, D], { requiresGrad: true }), v = randn([B, H, T, D], { requiresGrad: true });
    const before = liveBytes('cpu');
    const y = tidy(() => scaledDotProductAttention(q, k, v, { dropout: 0.1 }));
    const kept = liveBytes('cpu') - before;
    expect(kept).toBeLessThan(2 * B * H * T * D * 4 + 4096); // the output, and no (T × T) weights (4 MiB)
    tidy(() => y.sum().backward());
    expect(q.grad!.shape).toEqual([B, H, T, D]);
  });

  it('says which shapes are wrong', () => {
    const q = randn([1, 2, 4, 8]);
    expect(() => scaledDotProductAttention(q, randn([1, 2, 4, 6]), randn([1, 2, 4, 8]))).toThrow(/k and v must be \(B, H, Tk, D\).*k \[1,2,4,6\]/);
    expect(() => scaledDotProductAttention(q, randn([1, 2, 3, 8]), randn([1, 2, 3, 8]))).toThrow(/causal mask needs at least as many keys/);
    expect(() => scaledDotProductAttention(q, q, q, { dropout: 1 })).toThrow(/dropout must be in \[0, 1\)/);
    expect(() => scaledDotProductAttention(tensor([1, 2]), q, q)).toThrow(/expected \(B, H, T, D\)/);
  });
});

describe.skipIf(!hasBackend('gpu'))('scaledDotProductAttention on the GPU (fused kernels)', () => {
  it('matches the CPU at real widths, dropout included, forward and backward', async () => {
    for (const c of CASES) expectClose(await run(c, 'gpu', true, 6), await run(c, 'cpu', true, 6), { rtol: 2e-4, atol: 2e-5 }, label(c));
  });

  it('reads strided q, k, v (split from one projection) and returns heads whose transpose needs no copy', async () => {
    manualSeed(8);
    const [B, T, H, D] = [2, 40, 4, 16];
    const qkv = randn([B, T, 3 * H * D]);
    const heads = (t: Tensor) => t.view(B, T, H, D).transpose(1, 2);
    const outs: number[][] = [];
    for (const device of ['cpu', 'gpu'] as const) {
      const [q, k, v] = qkv.to(device).split(H * D, 2).map(heads);
      const y = scaledDotProductAttention(q!, k!, v!);
      if (device === 'gpu') expect(y.transpose(1, 2).isContiguous()).toBe(true);
      outs.push([...await y.transpose(1, 2).contiguous().data()]);
    }
    expect(compareArrays(outs[1]!, outs[0]!, { rtol: 2e-4, atol: 2e-5 }).ok).toBe(true);
  });
});

describe.each(hasBackend('gpu') ? ['cpu', 'gpu'] as const : ['cpu'] as const)('selfAttention over a packed (B, T, 3C) projection [%s]', (device) => {
  it('equals splitting into heads and scaledDotProductAttention, forward and the gradient of qkv, dropout included', async () => {
    for (const [B, T, H, D, p] of [[2, 40, 4, 16, 0], [1, 70, 6, 64, 0.2], [3, 1, 2, 8, 0]] as const) {
      manualSeed(B * 100 + T);
      const host = randn([B, T, 3 * H * D]);
      const w = randn([B, T, H * D]);
      const results: number[][][] = [];
      for (const packed of [true, false]) {
        const qkv = host.to(device).detach().requiresGrad_(); // a leaf of its own each time (to() may return a cached copy)
        manualSeed(77);
        let y: Tensor;
        if (packed) y = selfAttention(qkv, H, { dropout: p });
        else {
          const [q, k, v] = qkv.split(H * D, 2).map((t) => t.view(B, T, H, D).transpose(1, 2));
          y = scaledDotProductAttention(q!, k!, v!, { dropout: p }).transpose(1, 2).contiguous().view(B, T, H * D);
        }
        y.mul(w.to(device)).sum().backward();
        results.push([[...await y.data()], [...await qkv.grad!.data()]]);
      }
      const [a, b] = results as [number[][], number[][]];
      for (const k of [0, 1]) {
        const r = compareArrays(a[k]!, b[k]!, { rtol: 1e-5, atol: 1e-6 });
        if (!r.ok) throw new Error(`B${B} T${T} H${H} D${D} p${p} ${k === 0 ? 'output' : 'dqkv'} at ${r.index}: ${a[k]![r.index]} vs ${b[k]![r.index]}`);
      }
    }
  });
});
