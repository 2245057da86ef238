import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { hasBackend, tensor, type Device, type DType, type Tensor } from '@llmts/tensor';
import { compareArrays } from '@llmts/tensor/internal';
import { Adam, AdamW, SGD, clipGradNorm, warmupCosine, LrScheduler, type Optimizer } from '@llmts/nn';

interface Traj { name: string; clip: number | null; schedule: boolean; losses: number[]; norms: number[]; steps: Record<string, number[]>[] }
const ref = JSON.parse(readFileSync(fileURLToPath(new URL('../reference/torch-optim.json', import.meta.url)), 'utf8')) as {
  X: number[]; Y: number[]; init: Record<string, { shape: number[]; values: number[] }>; configs: Traj[];
};

const makers: Record<string, (p: Record<string, Tensor>) => Optimizer<{ lr: number }>> = {
  adamw_groups: (p) => new AdamW([{ params: [p.w1!, p.w2!], weightDecay: 0.1 }, { params: [p.b1!], weightDecay: 0 }], { lr: 1e-2, betas: [0.9, 0.95], eps: 1e-8 }),
  adamw_defaults: (p) => new AdamW(Object.values(p), { lr: 1e-3 }),
  adam_l2: (p) => new Adam(Object.values(p), { lr: 1e-2, weightDecay: 0.01 }),
  sgd_plain: (p) => new SGD(Object.values(p), { lr: 0.1 }),
  sgd_momentum_dampening_wd: (p) => new SGD(Object.values(p), { lr: 0.05, momentum: 0.9, dampening: 0.1, weightDecay: 0.01 }),
  sgd_nesterov: (p) => new SGD(Object.values(p), { lr: 0.05, momentum: 0.9, nesterov: true }),
  adamw_clip_schedule: (p) => new AdamW(Object.values(p), { lr: 0.05, betas: [0.9, 0.99], weightDecay: 0.1 }),
};

async function replay(c: Traj, device: Device, dtype: DType): Promise<{ steps: Record<string, number[]>[]; norms: number[] }> {
  const on = { device, dtype };
  const X = tensor(ref.X, { ...on, shape: [8, 4] });
  const Y = tensor(ref.Y, { ...on, shape: [8, 2] });
  const p: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(ref.init)) p[k] = tensor(v.values, { ...on, shape: v.shape, requiresGrad: true });
  const opt = makers[c.name]!(p);
  const sched = c.schedule ? new LrScheduler(opt, warmupCosine({ maxLr: 0.05, minLr: 0.005, warmupIters: 5, decayIters: 20 })) : null;
  const steps: Record<string, number[]>[] = [];
  const norms: number[] = [];
  for (let it = 0; it < 25; it++) {
    sched?.step();
    opt.zeroGrad();
    const loss = X.matmul(p.w1!).add(p.b1!).tanh().matmul(p.w2!).sub(Y).pow(2).mean();
    loss.backward();
    if (c.clip !== null) norms.push(await clipGradNorm(Object.values(p), c.clip).item());
    opt.step();
    const snap: Record<string, number[]> = {};
    for (const [k, t] of Object.entries(p)) snap[k] = [...(await t.data())];
    steps.push(snap);
  }
  return { steps, norms };
}

function expectTrajectory(got: { steps: Record<string, number[]>[]; norms: number[] }, c: Traj, rtol: number, atol: number): void {
  c.steps.forEach((want, i) => {
    for (const [k, values] of Object.entries(want)) {
      const r = compareArrays(got.steps[i]![k]!, values, { rtol, atol });
      if (!r.ok) throw new Error(`${c.name} step ${i + 1} ${k}[${r.index}]: ${got.steps[i]![k]![r.index]} vs torch ${values[r.index]}`);
    }
  });
  const rn = compareArrays(got.norms, c.norms, { rtol, atol });
  if (!rn.ok) throw new Error(`${c.name} clip norm at step ${rn.index + 1}: ${got.norms[rn.index]} vs torch ${c.norms[rn.index]}`);
}

describe('optimizer trajectories match PyTorch (tests/reference/torch-optim.json)', () => {
  for (const c of ref.configs) {
    it(`${c.name}, float64 on the CPU, to 1e-6`, async () => expectTrajectory(await replay(c, 'cpu', 'float64'), c, 1e-6, 1e-9));
    it(`${c.name}, float32 on the CPU`, async () => expectTrajectory(await replay(c, 'cpu', 'float32'), c, 1e-3, 1e-4));
    it.skipIf(!hasBackend('gpu'))(`${c.name}, float32 on the GPU`, async () => expectTrajectory(await replay(c, 'gpu', 'float32'), c, 1e-3, 1e-4));
  }
});

describe('learning-rate schedules', () => {
  it('warmup then cosine to the floor, as nanoGPT', () => {
    const lr = warmupCosine({ maxLr: 1e-3, minLr: 1e-4, warmupIters: 100, decayIters: 5000 });
    expect(lr(0)).toBeCloseTo(1e-3 / 101, 12);
    expect(lr(99)).toBeCloseTo(1e-3 * 100 / 101, 12);
    expect(lr(100)).toBeCloseTo(1e-3, 12);
    expect(lr(2550)).toBeCloseTo(1e-4 + 0.5 * 9e-4, 12);
    expect(lr(5000)).toBe(1e-4);
    expect(lr(9000)).toBe(1e-4);
    for (let i = 101; i < 5000; i += 97) expect(lr(i)).toBeLessThanOrEqual(lr(i - 1));
  });
  it('the scheduler sets every group', () => {
    const a = tensor([1], { requiresGrad: true }), b = tensor([1], { requiresGrad: true });
    const opt = new AdamW([{ params: [a] }, { params: [b], weightDecay: 0 }], { lr: 1 });
    const s = new LrScheduler(opt, (i) => 0.5 / (i + 1));
    s.step(); s.step();
    expect(opt.paramGroups.map((g) => g.options.lr)).toEqual([0.25, 0.25]);
  });
});

describe('gradient clipping', () => {
  it('scales to the max norm and returns the norm before clipping', async () => {
    const a = tensor([3, 0], { requiresGrad: true }), b = tensor([4], { requiresGrad: true });
    a.mul(tensor([1, 1])).sum().backward();
    a.grad = tensor([3, 0]);
    b.grad = tensor([4]);
    const norm = clipGradNorm([a, b], 1);
    expect(await norm.item()).toBeCloseTo(5, 6);
    expect(await a.grad.toArray()).toEqual([expect.closeTo(0.6, 5), 0]);
    expect(await b.grad.toArray()).toEqual([expect.closeTo(0.8, 5)]);
    const small = clipGradNorm([a, b], 10);
    expect(await small.item()).toBeCloseTo(1, 5);
    expect(await b.grad!.toArray()).toEqual([expect.closeTo(0.8, 5)]);
  });
});
