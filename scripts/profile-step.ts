import { manualSeed, randint, tidy } from '@llmts/tensor';
import { AdamW } from '@llmts/nn';
import { GPT } from '@llmts/gpt';
manualSeed(0);
const model = new GPT({ vocabSize: 65, blockSize: 64, nLayer: 4, nHead: 4, nEmbd: 128, dropout: 0, bias: false });
const opt = new AdamW(model.optimizerGroups(0.1), { lr: 1e-3 });
const step = () => tidy(() => {
  const x = randint(0, 65, [12, 64]), y = randint(0, 65, [12, 64]);
  const l = model.forward(x, y).loss!; l.backward(); opt.step(); opt.zeroGrad(); return l;
}).dispose();
step();
const t0 = performance.now();
for (let i = 0; i < 20; i++) step();
console.log('ms/iter', ((performance.now() - t0) / 20).toFixed(0));
