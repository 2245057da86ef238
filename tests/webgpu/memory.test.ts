import { describe, expect, it } from 'vitest';
import { crossEntropy, hasBackend, liveBytes, manualSeed, randn, randint, tidy, zeroGrad, type Tensor } from '@llmts/tensor';
import { getBackend } from '@llmts/tensor/internal';

describe.skipIf(!hasBackend('gpu'))('GPU memory', () => {
  it('1,000 forward+backward passes leave live GPU bytes flat', async () => {
    manualSeed(0);
    const device = 'gpu' as const;
    const params: Tensor[] = [randn([16, 32], { device, requiresGrad: true }), randn([32], { device, requiresGrad: true }), randn([32, 8], { device, requiresGrad: true })];
    const x = randn([12, 16], { device });
    const y = randint(0, 8, [12], { device });
    const step = () => {
      const loss = tidy(() => {
        const h = x.matmul(params[0]!).add(params[1]!).relu();
        const l = crossEntropy(h.matmul(params[2]!), y);
        l.backward();
        return l;
      });
      zeroGrad(params);
      return loss;
    };
    step().dispose();
    await getBackend('gpu').sync();
    const before = liveBytes('gpu');
    let last: Tensor | null = null;
    for (let i = 0; i < 1000; i++) {
      last?.dispose();
      last = step();
      expect(liveBytes('gpu')).toBeLessThanOrEqual(before + 4096);
    }
    expect(Number.isFinite(await last!.item())).toBe(true);
    last!.dispose();
    expect(liveBytes('gpu')).toBe(before);
  });

  it('dispose() returns a buffer to the pool and live bytes fall', () => {
    const before = liveBytes('gpu');
    const t = randn([1024], { device: 'gpu' });
    expect(liveBytes('gpu')).toBeGreaterThanOrEqual(before + 4096);
    t.dispose();
    expect(liveBytes('gpu')).toBe(before);
  });
});
