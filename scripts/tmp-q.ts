import { init, manualSeed, randn, quantizeWeight, quantizedMatmul, dequantize, tensor, quantizedEmbedding } from '@llmts/tensor';
import { compareArrays, setWasmKernels } from '@llmts/tensor/internal';
await init({ device: 'gpu' });
const cpu = { device: 'cpu' as const };
manualSeed(0);
for (const bits of [8, 4] as const) for (const [N, K, O] of [[1, 768, 300], [5, 100, 77], [3, 33, 9]]) {
  const w = randn([O, K], cpu);
  const q = quantizeWeight(w, bits);
  const x = randn([N, K], cpu);
  const b = randn([O], cpu);
  const deq = await dequantize(q);
  const ref = [...await x.matmul(deq.T).add(b).data()];
  const wasm = [...await quantizedMatmul(x, q, b).data()];
  setWasmKernels(false);
  const ts = [...await quantizedMatmul(x, q, b).data()];
  setWasmKernels(true);
  const qg = q.to('gpu');
  const gpu = [...await quantizedMatmul(x.to('gpu'), qg, b.to('gpu')).data()];
  const err = [...await deq.sub(w).abs().amax().data()][0];
  const ids = tensor([0, O - 1, 3 % O], cpu);
  const e1 = [...await quantizedEmbedding(ids, q).data()], e2 = [...await quantizedEmbedding(ids.to('gpu'), qg).data()], e3 = [...await deq.indexSelect(0, ids).data()];
  console.log(bits, N, K, O, 'wasm', compareArrays(wasm, ref, { rtol: 1e-4, atol: 1e-4 }).ok, 'ts', compareArrays(ts, ref, { rtol: 1e-4, atol: 1e-4 }).ok, 'gpu', compareArrays(gpu, ref, { rtol: 1e-4, atol: 1e-4 }).ok, 'emb', compareArrays(e1, e3, {rtol:0, atol:0}).ok, compareArrays(e2, e3, {rtol:1e-6, atol:1e-6}).ok, 'max |deq-w|', err.toFixed(4));
}
