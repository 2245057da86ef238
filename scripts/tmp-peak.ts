import { init, manualSeed, memoryStats, resetPeakMemory, randint, tidy } from '@llmts/tensor';
import { AdamW, clipGradNorm } from '@llmts/nn';
import { GPT, makeConfig } from '@llmts/gpt';
import { estimateTrainingMemory } from '../packages/gpt/src/train/memory.ts';
await init({ device: 'cpu' });
const cfgs = [
  { V: 65, T: 64, L: 4, H: 4, C: 128, B: 12, p: 0 },
  { V: 65, T: 64, L: 4, H: 4, C: 128, B: 48, p: 0 },
  { V: 65, T: 256, L: 2, H: 4, C: 128, B: 8, p: 0 },
  { V: 65, T: 128, L: 2, H: 8, C: 256, B: 8, p: 0.2 },
  { V: 2000, T: 64, L: 2, H: 4, C: 128, B: 16, p: 0 },
  { V: 65, T: 64, L: 8, H: 4, C: 64, B: 16, p: 0.1 },
];
for (const c of cfgs) {
  manualSeed(0);
  const m = new GPT({ vocabSize: c.V, blockSize: c.T, nLayer: c.L, nHead: c.H, nEmbd: c.C, dropout: c.p, bias: false });
  const P = m.parameters().reduce((a, p) => a + p.numel(), 0);
  const opt = new AdamW(m.optimizerGroups(0.1), { lr: 1e-3 });
  for (let s = 0; s < 2; s++) {
    resetPeakMemory();
    const base = memoryStats().liveBytes;
    const x = randint(0, c.V, [c.B, c.T]), y = randint(0, c.V, [c.B, c.T]);
    tidy(() => { m.forward(x, y).loss!.backward(); clipGradNorm(m.parameters(), 1).dispose(); opt.step(); opt.zeroGrad(); });
    x.dispose(); y.dispose();
    const est = estimateTrainingMemory(m.config, c.B);
    if (s === 1) console.log(JSON.stringify(c), 'measured MB', (memoryStats().peakBytes / 1e6).toFixed(1), 'estimate MB', (est.bytes / 1e6).toFixed(1), 'ratio', (est.bytes / memoryStats().peakBytes).toFixed(2), 'P', P, est.stateBytes / 16);
  }
  opt.dispose(); m.dispose();
}
