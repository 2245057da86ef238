import { init } from '@llmts/tensor';
import { generate, loadGPT } from '@llmts/gpt';
await init({ device: 'cpu' });
for (const q of [undefined, 'int8', undefined, 'int8'] as const) {
  const { model } = loadGPT('runs/shakespeare-char-cpu', q ? { quantize: q } : {});
  await generate(model, [[0]], { maxNewTokens: 20, temperature: 0 });
  const t0 = performance.now();
  await generate(model, [[0]], { maxNewTokens: 300, temperature: 0 });
  console.log(q ?? 'f32', (300 / ((performance.now() - t0) / 1000)).toFixed(0), 'tok/s');
  model.dispose();
}
