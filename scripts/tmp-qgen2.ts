import { init } from '@llmts/tensor';
import { generate, loadGPT } from '@llmts/gpt';
await init({ device: 'cpu' });
const { model } = loadGPT('runs/shakespeare-char-cpu', { quantize: 'int8' });
await generate(model, [[0]], { maxNewTokens: 20, temperature: 0 });
const t0 = performance.now();
await generate(model, [[0]], { maxNewTokens: 1000, temperature: 0 });
console.log((1000 / ((performance.now() - t0) / 1000)).toFixed(0), 'tok/s');
