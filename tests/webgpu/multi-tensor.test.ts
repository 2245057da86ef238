import { describe, expect, it } from 'vitest';
import { hasBackend, manualSeed, randn, type Tensor } from '@llmts/tensor';
import { adamUpdate_, adamUpdateMany_, compareArrays, getBackend } from '@llmts/tensor/internal';
import { AdamW, clipGradNorm } from '@llmts/nn';

/** 40 parameters of awkward sizes: more than one dispatch binds, sums that cross the 4,096-element chunks. */
function params(device: 'cpu' | 'gpu'): Tensor[] {
  manualSeed(12);
  return Array.from({ length: 40 }, (_, i) => {
    const n = i === 7 ? 70_001 : 1 + ((i * 977) % 9000);
    const p = randn([n]).to(device).requiresGrad_();
    p.grad = randn([n]).mul(i % 5 === 0 ? 10 : 0.1).to(device);
    return p;
  });
}

const values = async (ts: Tensor[]) => Promise.all(ts.map(async (t) => [...await t.data()]));

describe.skipIf(!hasBackend('gpu'))('multi-tensor optimizer kernels on the GPU', () => {
  it('clipGradNorm over 40 gradients in a handful of dispatches gives the CPU norm and scaled gradients', async () => {
    const cpu = params('cpu'), gpu = params('gpu');
    const gpuBackend = getBackend('gpu');
    gpuBackend.resetCounters();
    const normGpu = await clipGradNorm(gpu, 1).item();
    const dispatches = gpuBackend.counters().dispatches;
    const normCpu = await clipGradNorm(cpu, 1).item();
    expect(Math.abs(normGpu - normCpu) / normCpu).toBeLessThan(1e-5);
    expect(dispatches).toBeLessThanOrEqual(2 * Math.ceil(40 / Math.max(1, (gpuBackend.caps!.maxStorageBuffers - 2))) + 1);
    const [g, c] = [await values(gpu.map((p) => p.grad!)), await values(cpu.map((p) => p.grad!))];
    g.forEach((v, i) => expect(compareArrays(v, c[i]!, { rtol: 1e-5, atol: 1e-9 }).ok, `gradient ${i}`).toBe(true));
  });

  it('a gradient that is a view, or shared by two parameters, is clipped once and left to its own parameter', async () => {
    const w = randn([4, 6], { device: 'gpu', requiresGrad: true });
    const shared = randn([4, 6], { device: 'gpu' });
    const u = randn([4, 6], { device: 'gpu', requiresGrad: true });
    w.grad = shared;
    u.grad = shared;
    const big = randn([6, 4], { device: 'gpu', requiresGrad: true });
    big.grad = randn([4, 6], { device: 'gpu' }).T;
    const before = [...await shared.data()];
    await clipGradNorm([w, u, big], 0.5).item();
    const ratio = (await w.grad!.data())[0]! / before[0]!;
    expect(ratio).toBeLessThan(1);
    expect((await u.grad!.data())[0]! / before[0]!).toBeCloseTo(ratio, 5); // scaled once, not twice
  });

  it('adamUpdateMany_ equals one adamUpdate_ per parameter exactly, across dispatch groups', async () => {
    const make = () => params('gpu').map((p) => ({ param: p, grad: p.grad!, expAvg: randn([p.numel()], { device: 'gpu' }).abs(), expAvgSq: randn([p.numel()], { device: 'gpu' }).abs() }));
    manualSeed(3);
    const a = make();
    manualSeed(3);
    const b = make();
    const hyper = (i: number) => ({ lr: 1e-3 * (1 + i), beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: i % 2 === 0 ? 0.1 : 0, step: 1 + i, decoupled: i % 3 !== 0 });
    adamUpdateMany_(a.map((it, i) => ({ ...it, hyper: hyper(i) })));
    b.forEach((it, i) => adamUpdate_(it.param, it.grad, it.expAvg, it.expAvgSq, hyper(i)));
    for (const key of ['param', 'expAvg', 'expAvgSq'] as const) {
      const [x, y] = [await values(a.map((it) => it[key])), await values(b.map((it) => it[key]))];
      x.forEach((v, i) => expect(v, `${key} ${i}`).toEqual(y[i]));
    }
  });

  it('AdamW steps every parameter in ⌈n / k⌉ dispatches', async () => {
    const ps = params('gpu');
    const opt = new AdamW(ps, { lr: 1e-3 });
    const gpuBackend = getBackend('gpu');
    gpuBackend.resetCounters();
    opt.step();
    await gpuBackend.sync();
    const k = Math.floor((gpuBackend.caps!.maxStorageBuffers - 1) / 4);
    expect(gpuBackend.counters().dispatches).toBe(Math.ceil(40 / k) + 80); // + the two moments' zero fills on the first step
    gpuBackend.resetCounters();
    opt.step();
    await gpuBackend.sync();
    expect(gpuBackend.counters().dispatches).toBe(Math.ceil(40 / k));
  });
});
