import { describe, expect, it } from 'vitest';
import { hasBackend, manualSeed, randint } from '@llmts/tensor';
import { compareArrays, getBackend } from '@llmts/tensor/internal';
import { AdamW } from '@llmts/nn';
import { GPT, trainStep } from '@llmts/gpt';

// What a training step costs the host beyond its dispatches: after the first steps, every pipeline
// and bind group it needs already exists (found by the pipeline, params size and buffer ids).
describe.skipIf(!hasBackend('gpu'))('a repeated training step on the GPU', () => {
  it('creates no pipelines and no bind groups after the second step, counts Dawn\'s share of the host time, and its losses stay the CPU\'s', async () => {
    const config = { vocabSize: 67, blockSize: 16, nLayer: 2, nHead: 2, nEmbd: 32, dropout: 0, bias: true };
    const losses: number[][] = [];
    const created: { pipelines: number; bindGroups: number; dispatches: number }[] = [];
    for (const device of ['cpu', 'gpu'] as const) {
      manualSeed(51);
      const model = new GPT(config, { device });
      manualSeed(52);
      // drawn on the CPU, uploaded each step and freed after it, as the trainer does
      const batches = Array.from({ length: 5 }, () => ({ x: randint(0, 67, [2, 16]), y: randint(0, 67, [2, 16]) }));
      const opt = new AdamW(model.optimizerGroups(0.1), { lr: 1e-2 });
      const own: number[] = [];
      for (const [step, batch] of batches.entries()) {
        const backend = getBackend('gpu');
        if (device === 'gpu') await backend.sync();
        const before = backend.counters();
        const x = batch.x.to(device), y = batch.y.to(device);
        const loss = trainStep(model, opt, () => ({ x, y }), { gradClip: 1 });
        own.push(await loss.item());
        loss.dispose();
        if (device === 'gpu') {
          x.dispose();
          y.dispose();
          const after = backend.counters();
          if (step >= 2) created.push({ pipelines: after.pipelines - before.pipelines, bindGroups: after.bindGroups - before.bindGroups, dispatches: after.dispatches - before.dispatches });
          // Dawn's share of the host time: some, never all of it (llm.ts's own work is the rest)
          const host = after.hostMs - before.hostMs, driver = after.driverMs - before.driverMs;
          expect(driver).toBeGreaterThan(0);
          expect(driver).toBeLessThan(host);
        }
      }
      losses.push(own);
      opt.dispose();
      model.dispose();
    }
    for (const c of created) {
      expect(c.dispatches).toBeGreaterThan(20);
      expect(c).toMatchObject({ pipelines: 0, bindGroups: 0 });
    }
    const r = compareArrays(losses[1]!, losses[0]!, { rtol: 1e-4, atol: 1e-4 });
    expect(r.ok, `losses gpu ${losses[1]} cpu ${losses[0]}`).toBe(true);
  });
});
