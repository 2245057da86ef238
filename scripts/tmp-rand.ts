import { init, manualSeed, randn, rand, randint } from '@llmts/tensor';
import { setWasmKernels } from '@llmts/tensor/internal';
await init({ device: 'cpu' });
const got: number[][][] = [];
for (const on of [true, false]) {
  setWasmKernels(on);
  manualSeed(5);
  const t0 = Date.now();
  const a = [...await randn([100003]).data()], b = [...await rand([100003]).data()], c = [...await randint(-7, 1000, [100003]).data()];
  got.push([a, b, c]);
  manualSeed(1); const t1 = Date.now(); randn([20_000_000]); console.log(on ? 'wasm' : 'ts', Date.now() - t1, 'ms for 2e7 normals');
}
for (let k = 0; k < 3; k++) { let diff = 0, maxd = 0; for (let i = 0; i < got[0]![k]!.length; i++) { const d = Math.abs(got[0]![k]![i]! - got[1]![k]![i]!); if (d > 0) diff++; maxd = Math.max(maxd, d); } console.log('kind', k, 'differing', diff, 'max', maxd); }
