// A training loop written the way a PyTorch user writes it (no tidy, no dispose) must not grow
// without bound: storages nobody points at any more are freed by the backstop, even though the
// loop never yields to the event loop. Without the backstop the same loop grows every iteration,
// which shows the test can fail.
import { afterAll, describe, expect, it } from 'vitest';
import { liveBytes, manualSeed, randint, type Device } from '@llmts/tensor';
import { setGarbageBackstop } from '@llmts/tensor/internal';
import { AdamW } from '@llmts/nn';
import { GPT } from '@llmts/gpt';
import { testDevices } from '../helpers/devices.ts';

const MiB = 2 ** 20;

/** The README's loop on a small model: the peak of live bytes over `iters` iterations. */
function peakOfLoop(device: Device, iters: number): { peak: number; growth: number } {
  manualSeed(1337);
  const model = new GPT({ vocabSize: 65, blockSize: 32, nLayer: 2, nHead: 2, nEmbd: 64 }, { device });
  const opt = new AdamW(model.optimizerGroups(0.1), { lr: 1e-3, betas: [0.9, 0.99] });
  const start = liveBytes(device);
  let peak = 0;
  for (let iter = 0; iter < iters; iter++) {
    const x = randint(0, 65, [8, 32], { device }), y = randint(0, 65, [8, 32], { device });
    const { loss } = model.forward(x, y);
    loss!.backward();
    opt.step();
    opt.zeroGrad();
    peak = Math.max(peak, liveBytes(device));
  }
  return { peak, growth: peak - start };
}

afterAll(() => setGarbageBackstop(true, { minGrowthBytes: 256 * MiB }));

describe.each(testDevices())('a loop without tidy stays bounded [%s]', (device) => {
  it('grows without the backstop, stays within twice its working set plus the margin with it', () => {
    setGarbageBackstop(false);
    const leaking = peakOfLoop(device, 60);
    setGarbageBackstop(true, { minGrowthBytes: 16 * MiB });
    const bounded = peakOfLoop(device, 60);
    // one iteration leaves ~2.5 MB of activations behind when nothing frees them
    expect(leaking.growth).toBeGreaterThan(100 * MiB);
    expect(bounded.growth).toBeLessThan(40 * MiB);
  }, 120_000);
});
