import { init, liveBytes } from '@llmts/tensor';
import { GPT } from '@llmts/gpt';
await init({ device: 'cpu' });
for (const initW of [false, true]) {
  const t0 = Date.now();
  const m = new GPT({ vocabSize: 50257, blockSize: 1024, nLayer: 12, nHead: 12, nEmbd: 768 }, { init: initW });
  console.log('init', initW, Date.now() - t0, 'ms', m.numParameters(), (liveBytes() / 2 ** 20).toFixed(0), 'MiB');
  m.dispose();
}
