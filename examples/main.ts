/**
 * The main job (until the GPT lands): fit a small MLP to two interleaved spirals with autograd
 * and plain SGD, showing the loss falling and the accuracy rising.
 */
import { manualSeed, randn, tensor, tidy, crossEntropy, noGrad, type Tensor } from '@llmts/tensor';

manualSeed(0);
const N = 200;
const points: number[][] = [];
const labels: number[] = [];
for (let c = 0; c < 2; c++) {
  for (let i = 0; i < N; i++) {
    const r = i / N, t = 4 * r + c * Math.PI;
    points.push([r * Math.cos(t), r * Math.sin(t)]);
    labels.push(c);
  }
}
const X = tensor(points);
const Y = tensor(labels, { dtype: 'int32' });
const params: Tensor[] = [
  randn([2, 64]).mul(0.5).requiresGrad_(), randn([64]).mul(0).requiresGrad_(),
  randn([64, 2]).mul(0.1).requiresGrad_(), randn([2]).mul(0).requiresGrad_(),
];
const forward = (x: Tensor) => x.matmul(params[0]!).add(params[1]!).tanh().matmul(params[2]!).add(params[3]!);
const lr = 0.5;
for (let step = 0; step <= 2000; step++) {
  const loss = tidy(() => {
    const l = crossEntropy(forward(X), Y);
    l.backward();
    return l;
  });
  noGrad(() => params.forEach((p, i) => {
    params[i] = p.sub(p.grad!.mul(lr)).detach().requiresGrad_();
    p.grad!.dispose();
    p.dispose();
  }));
  if (step % 250 === 0) {
    const acc = await noGrad(() => forward(X).argmax(1).eq(Y).to('float32').mean()).item();
    console.log(`step ${String(step).padStart(4)}  loss ${(await loss.item()).toFixed(4)}  accuracy ${(acc * 100).toFixed(1)}%`);
  }
  loss.dispose();
}
