import { init, randn, quantizeWeight, quantizedMatmul, tidy } from '@llmts/tensor';
await init({ device: 'cpu' });
const w = randn([512, 128]); const q = quantizeWeight(w, 8); const x = randn([1, 1, 128]); const b = randn([512]);
for (const [name, f] of [['f32', () => x.matmul(w.transpose(0, 1)).add(b)], ['int8', () => quantizedMatmul(x, q, b)]] as const) {
  for (let i = 0; i < 200; i++) tidy(() => f());
  const t0 = performance.now();
  for (let i = 0; i < 2000; i++) tidy(() => f());
  console.log(name, ((performance.now() - t0) / 2000 * 1000).toFixed(1), 'us/call');
}
