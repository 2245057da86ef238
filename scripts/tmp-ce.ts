import { init, tensor, crossEntropy, softmax, logSoftmax } from '@llmts/tensor';
import { setWasmKernels } from '@llmts/tensor/internal';
await init({ device: 'gpu' });
for (const wasm of [true, false]) for (const device of ['cpu', 'gpu'] as const) {
  if (device === 'gpu' && !wasm) continue;
  setWasmKernels(wasm);
  const a = tensor([[0, -Infinity, -Infinity]], { device, dtype: 'float32', requiresGrad: true });
  const l1 = crossEntropy(a, tensor([0], { device }));
  l1.backward();
  const b = tensor([[-Infinity, 0, 0]], { device, dtype: 'float32', requiresGrad: true });
  const l2 = crossEntropy(b, tensor([0], { device }));
  const c = tensor([[-Infinity, 0, -Infinity], [1, 2, 3]], { device, dtype: 'float32' });
  console.log(device, wasm, await l1.item(), await a.grad!.toArray(), await l2.item(), await softmax(c, -1).toArray(), await logSoftmax(c, -1).toArray(), await crossEntropy(c, tensor([1, 2], { device })).item());
}
