import { describe, expect, it } from 'vitest';
import { hasBackend, manualSeed, randn } from '@llmts/tensor';
import { compareArrays } from '@llmts/tensor/internal';

/** The large-tile kernel (128×128, vec4 loads) takes big aligned float32 products; the generic one the rest. */
describe.skipIf(!hasBackend('gpu'))('GPU matmul kernels', () => {
  const cases: [number, number, number, boolean, number[], string][] = [
    [128, 64, 128, false, [], 'exact tiles'],
    [200, 72, 136, false, [], 'ragged edges'],
    [260, 20, 132, false, [], 'K not a multiple of 8'],
    [256, 128, 64, true, [], 'A transposed (M innermost)'],
    [132, 40, 260, true, [2], 'A transposed, batched'],
    [96, 32, 160, false, [3, 2], 'batched with broadcast B'],
    [333, 100, 257, false, [], 'unaligned N (generic kernel)'],
    [70, 9, 65, false, [], 'small and odd (generic kernel)'],
  ];
  for (const [M, K, N, transposed, batch, label] of cases) {
    it(`${label}: [${batch}] ${M}x${K} @ ${K}x${N}`, async () => {
      manualSeed(M + K + N);
      const aCpu = transposed ? randn([...batch, K, M]).transpose(-2, -1) : randn([...batch, M, K]);
      const bCpu = randn([K, N]);
      const want = await aCpu.matmul(bCpu).data();
      const aGpu = transposed ? aCpu.transpose(-2, -1).contiguous().to('gpu').transpose(-2, -1) : aCpu.to('gpu');
      expect(aGpu.isContiguous()).toBe(!transposed);
      const got = await aGpu.matmul(bCpu.to('gpu')).data();
      const r = compareArrays(got, want, { rtol: 1e-4, atol: 1e-4 });
      expect(r.ok, `at ${r.index}: ${got[r.index]} vs ${want[r.index]}`).toBe(true);
    });
  }

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
