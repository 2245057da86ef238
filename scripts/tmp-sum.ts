import { init, ones, full } from '@llmts/tensor';
await init({ device: 'gpu' });
for (const device of ['cpu', 'gpu'] as const) {
  console.log(device, await ones([device === "cpu" ? 1e8 : 3e7], { device }).sum().item(), await full([1e6], 0.1, { device }).sum().item(), await full([1, 2e7], 0.1, { device }).sum(1).item(),
    await full([2e7, 1], 0.1, { device }).sum(0).item(), await full([20000, 16], 0.1, { device }).sum(0).mean().item());
}
const b = await import('@llmts/tensor');
console.log(await b.ones([3e7], { device: 'gpu', dtype: 'int32' }).sum().item(), await b.ones([3e6], { device: 'gpu' }).gt(0).sum().item(), await b.arange(3e6, undefined, {device:'gpu'}).max().item(), await b.randn([4, 9000], {device:'gpu'}).sum(1).sub(b.randn([4, 9000], {device:'gpu'}).sum(1)).toArray());
