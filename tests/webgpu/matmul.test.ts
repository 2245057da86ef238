import { describe, expect, it } from 'vitest';
import { hasBackend, linear, manualSeed, randn, type Tensor } from '@llmts/tensor';
import { compareArrays, matmulTile } from '@llmts/tensor/internal';

const view = (t: Tensor) => ({ storage: t.storage, shape: t.shape, strides: t.strides, offset: t.offset, dtype: t.dtype });

/** The large-tile kernel (128×128, vec4 loads) takes big aligned float32 products; the generic one the rest. */
describe.skipIf(!hasBackend('gpu'))('GPU matmul kernels', () => {
  // [M, K, N, A stored transposed, B stored transposed (a Linear's Wᵀ), batch, label, kernel expected]
  const cases: [number, number, number, boolean, boolean, number[], string, 'large' | 'generic'][] = [
    [128, 64, 128, false, false, [], 'exact tiles', 'large'],
    [200, 72, 136, false, false, [], 'ragged edges', 'large'],
    [260, 20, 132, false, false, [], 'K not a multiple of 8', 'large'],
    [256, 128, 64, true, false, [], 'A transposed (M innermost)', 'large'],
    [132, 40, 260, true, false, [2], 'A transposed, batched', 'large'],
    [96, 32, 160, false, false, [3, 2], 'batched with broadcast B', 'large'],
    [128, 64, 128, false, true, [], 'B transposed (K innermost), exact tiles', 'large'],
    [200, 72, 136, false, true, [], 'B transposed, ragged edges', 'large'],
    [260, 20, 132, false, true, [], 'B transposed, K not a multiple of 8', 'large'],
    [132, 40, 260, true, true, [2], 'both transposed, batched', 'large'],
    [64, 768, 1000, false, true, [], 'an lm_head: x · embeddingᵀ', 'large'],
    [333, 100, 257, false, false, [], 'unaligned N (generic kernel)', 'generic'],
    [100, 30, 80, false, true, [], 'B transposed with K unaligned (generic kernel)', 'generic'],
    [70, 9, 65, false, false, [], 'small and odd (generic kernel)', 'generic'],
  ];
  for (const [M, K, N, transposed, bTransposed, batch, label, kernel] of cases) {
    it(`${label}: [${batch}] ${M}x${K} @ ${K}x${N}`, async () => {
      manualSeed(M + K + N);
      const aCpu = transposed ? randn([...batch, K, M]).transpose(-2, -1) : randn([...batch, M, K]);
      const bCpu = bTransposed ? randn([N, K]).transpose(0, 1) : randn([K, N]);
      const want = await aCpu.matmul(bCpu).data();
      const aGpu = transposed ? aCpu.transpose(-2, -1).contiguous().to('gpu').transpose(-2, -1) : aCpu.to('gpu');
      const bGpu = bTransposed ? bCpu.transpose(0, 1).contiguous().to('gpu').transpose(0, 1) : bCpu.to('gpu');
      expect(aGpu.isContiguous()).toBe(!transposed);
      expect(bGpu.isContiguous()).toBe(!bTransposed);
      const bBatched = batch.length > 0 ? { ...view(bGpu), shape: [...batch, K, N], strides: [...batch.map(() => 0), ...bGpu.strides] } : view(bGpu);
      expect(matmulTile(view(aGpu), bBatched, batch, M, N, K)).toBe(kernel);
      const got = await aGpu.matmul(bGpu).data();
      const r = compareArrays(got, want, { rtol: 1e-4, atol: 1e-4 });
      expect(r.ok, `at ${r.index}: ${got[r.index]} vs ${want[r.index]}`).toBe(true);
    });
  }

  it('a Linear with bias takes the large-tile kernel forward (bias in its epilogue) and matches the CPU, gradients included', async () => {
    manualSeed(21);
    const x = randn([160, 96]), w = randn([136, 96]), b = randn([136]);
    const xs = x.to('gpu');
    expect(matmulTile(view(xs), view(w.to('gpu').transpose(0, 1)), [], 160, 136, 96)).toBe('large');
    const run = async (device: 'cpu' | 'gpu') => {
      const [xd, wd, bd] = [x, w, b].map((t) => t.to(device).detach().requiresGrad_()) as [Tensor, Tensor, Tensor];
      const y = linear(xd, wd, bd);
      y.tanh().sum().backward();
      return [await y.data(), await xd.grad!.data(), await wd.grad!.data(), await bd.grad!.data()];
    };
    const [cpu, gpu] = [await run('cpu'), await run('gpu')];
    for (let k = 0; k < 4; k++) {
      const r = compareArrays(gpu[k]!, cpu[k]!, { rtol: 1e-3, atol: 1e-3 });
      expect(r.ok, `${['y', 'dx', 'dW', 'db'][k]} at ${r.index}: ${gpu[k]![r.index]} vs ${cpu[k]![r.index]}`).toBe(true);
    }
  });

  it('gradients through the large-tile kernel match the CPU (linear layer backward)', async () => {
    manualSeed(9);
    const x = randn([256, 96]), w = randn([128, 96]);
    const run = async (device: 'cpu' | 'gpu') => {
      const xs = x.to(device).detach().requiresGrad_(), ws = w.to(device).detach().requiresGrad_();
      xs.matmul(ws.transpose(0, 1)).tanh().sum().backward();
      return [await xs.grad!.data(), await ws.grad!.data()];
    };
    const [cpu, gpu] = [await run('cpu'), await run('gpu')];
    for (let k = 0; k < 2; k++) expect(compareArrays(gpu[k]!, cpu[k]!, { rtol: 1e-3, atol: 1e-3 }).ok).toBe(true);
  });
});
