import { init, tensor, zeros, embedding, crossEntropy, multinomial, ones } from '@llmts/tensor';
await init({ device: 'gpu' });
for (const device of ['cpu', 'gpu'] as const) {
  const tries: [string, () => Promise<unknown>][] = [
    ['gather', () => zeros([2, 3], { device }).gather(1, tensor([[3], [0]], { device })).toArray()],
    ['embedding', () => embedding(tensor([70], { device }), zeros([65, 4], { device })).toArray()],
    ['scatter', () => zeros([3], { device }).scatterAdd(0, tensor([0, 5], { device }), ones([2], { device })).toArray()],
    ['ce', () => crossEntropy(zeros([4, 5], { device }), tensor([1, 2, 7, 0], { device })).item()],
    ['multinomial', () => multinomial(tensor([[0.5, -0.1, 0.6]], { device }), 1).toArray()],
    ['multinomial0', () => multinomial(tensor([[0, 0.0]], { device, dtype: 'float32' }), 1).toArray()],
    ['multinomialNoRep', () => multinomial(tensor([[0, 0.5, 0.5]], { device }), 3).toArray()],
  ];
  for (const [name, f] of tries) {
    try { await f(); console.log(device, name, 'NO ERROR'); } catch (e) { console.log(device, name, (e as Error).message); }
  }
  console.log(device, 'after:', await tensor([1, 2], { device }).sum().item());
}
