import { init, liveBytes, manualSeed, memoryStats } from '@llmts/tensor';
import { AdamW } from '@llmts/nn';
import { TokenDataset } from '@llmts/data';
import { GPT } from '@llmts/gpt';
await init({ device: 'cpu' });
manualSeed(1337);
const ds = TokenDataset.open('runs/data/shakespeare-char');
const model = new GPT({ vocabSize: ds.vocabSize, blockSize: 64, nLayer: 4, nHead: 4, nEmbd: 128 });
const opt = new AdamW(model.optimizerGroups(0.1), { lr: 1e-3, betas: [0.9, 0.99] });
const t0 = Date.now();
for (let iter = 0; iter < 60; iter++) {
  const { x, y } = ds.getBatch('train', 12, 64);
  const { loss } = model.forward(x, y);
  loss!.backward();
  opt.step();
  opt.zeroGrad();
  if (iter % 10 === 0) console.log(iter, (liveBytes() / 2 ** 20).toFixed(1), 'MiB live', (memoryStats().heapBytes! / 2 ** 20).toFixed(0), 'MiB heap', Date.now() - t0, 'ms');
}
