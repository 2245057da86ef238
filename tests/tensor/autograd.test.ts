import { describe, expect, it } from 'vitest';
import { enableGrad, isGradEnabled, liveBytes, manualSeed, noGrad, randn, tensor, tidy, keep, zeroGrad, zeros, type Tensor } from '@llmts/tensor';

describe('reverse-mode autograd', () => {
  it('accumulates into leaf grads across backward calls until cleared', async () => {
    const x = tensor([1, 2, 3], { requiresGrad: true });
    x.mul(x).sum().backward();
    expect(await x.grad!.toArray()).toEqual([2, 4, 6]);
    x.mul(3).sum().backward();
    expect(await x.grad!.toArray()).toEqual([5, 7, 9]);
    zeroGrad([x]);
    expect(x.grad).toBeNull();
    x.sum().backward();
    expect(await x.grad!.toArray()).toEqual([1, 1, 1]);
  });

  it('sums the gradient of a tensor used several times', async () => {
    const x = tensor([2], { requiresGrad: true });
    x.add(x).add(x.mul(x)).sum().backward();
    expect(await x.grad!.item()).toBe(6);
  });

  it('stops at detach() and records nothing under noGrad', async () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const y = x.mul(2).detach();
    expect(y.requiresGrad).toBe(false);
    const z = noGrad(() => x.mul(2));
    expect(z.requiresGrad).toBe(false);
    expect(isGradEnabled()).toBe(true);
    const w = noGrad(() => enableGrad(() => x.mul(2)));
    expect(w.requiresGrad).toBe(true);
    x.mul(y).sum().backward();
    expect(await x.grad!.toArray()).toEqual([2, 4]);
    await noGrad(async () => { await Promise.resolve(); expect(isGradEnabled()).toBe(false); });
    expect(isGradEnabled()).toBe(true);
  });

  it('refuses a second backward through a freed graph, with retainGraph allowed', async () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const y = x.exp().sum();
    y.backward(undefined, { retainGraph: true });
    y.backward();
    expect(await x.grad!.toArray()).toEqual([2 * Math.exp(1), 2 * Math.exp(2)].map((v) => Math.fround(v)));
    expect(() => y.backward()).toThrow(/already freed.*retainGraph/);
  });

  it('needs an explicit gradient for non-scalar outputs', async () => {
    const x = tensor([1, 2], { requiresGrad: true });
    expect(() => x.mul(2).backward()).toThrow(/single-element output/);
    x.mul(2).backward(tensor([1, 10]));
    expect(await x.grad!.toArray()).toEqual([2, 20]);
    expect(() => tensor([1]).backward()).toThrow(/does not require grad/);
  });

  it('keeps grads of non-leaves that ask with retainGrad()', async () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const h = x.mul(3).retainGrad();
    h.pow(2).sum().backward();
    expect(await h.grad!.toArray()).toEqual([6, 12]);
    expect(await x.grad!.toArray()).toEqual([18, 36]);
  });

  it('supports higher-order gradients with createGraph', async () => {
    const x = tensor([2], { dtype: 'float64', requiresGrad: true });
    x.pow(3).sum().backward(undefined, { createGraph: true });
    const dx = x.grad!;
    expect(await dx.item()).toBeCloseTo(12);
    x.grad = null;
    dx.sum().backward();
    expect(await x.grad!.item()).toBeCloseTo(12); // d2/dx2 x^3 = 6x
  });

  it('only floating point tensors can require grad', () => {
    expect(() => tensor([1], { dtype: 'int32', requiresGrad: true })).toThrow(/only floating point/);
  });

  it('visits each node once: backward work grows linearly with depth of a residual network', () => {
    const tensorsMadeByBackward = (layers: number): number => {
      manualSeed(0);
      const ws = Array.from({ length: layers }, () => randn([4, 4], { requiresGrad: true }));
      let x = randn([2, 4]);
      for (const w of ws) x = x.add(x.matmul(w).tanh()); // residual stream: every layer re-uses x
      const loss = x.sum();
      const before = loss.nextId();
      loss.backward();
      return loss.nextId() - before;
    };
    const t12 = tensorsMadeByBackward(12);
    const t24 = tensorsMadeByBackward(24);
    // a re-walk of shared subgraphs would grow as 2^depth; one visit per node grows as depth
    expect(t24).toBeLessThan(2.2 * t12);
    expect(t12).toBeLessThan(12 * 40);
  });
});

describe('memory', () => {
  it('tidy disposes intermediates and keeps what is returned', () => {
    const x = randn([3, 3]);
    let inner: Tensor | null = null;
    const y = tidy(() => {
      inner = x.mul(2);
      return inner.add(1);
    });
    expect(inner!.isDisposed).toBe(true);
    expect(y.isDisposed).toBe(false);
    expect(x.isDisposed).toBe(false);
    expect(() => inner!.add(1)).toThrow(/after dispose/);
  });

  it('keep() protects a tensor inside tidy; nested scopes hand results outward', () => {
    let kept: Tensor | null = null;
    let mid: Tensor | null = null;
    const out = tidy(() => {
      kept = keep(zeros([2]));
      mid = tidy(() => zeros([2]).add(1));
      return { value: mid.mul(2) };
    });
    expect(kept!.isDisposed).toBe(false);
    expect(mid!.isDisposed).toBe(true);
    expect(out.value.isDisposed).toBe(false);
  });

  it('a training step in tidy leaves live bytes flat', async () => {
    manualSeed(0);
    const w = randn([16, 16], { requiresGrad: true });
    const step = () => {
      const loss = tidy(() => {
        const l = randn([8, 16]).matmul(w).tanh().pow(2).mean();
        l.backward();
        return l;
      });
      const g = w.grad!;
      w.grad = null;
      g.dispose();
      loss.dispose();
    };
    step();
    const before = liveBytes('cpu');
    for (let i = 0; i < 50; i++) step();
    expect(liveBytes('cpu')).toBe(before);
  });

  it('views share storage: disposing one view keeps the other readable', async () => {
    const x = tensor([1, 2, 3, 4]);
    const v = x.view(2, 2);
    x.dispose();
    expect(await v.toArray()).toEqual([[1, 2], [3, 4]]);
    v.dispose();
    expect(v.storage.freed).toBe(true);
  });
});

describe('backward with releaseIntermediates', () => {
  it('disposes the graph\'s intermediates as it passes them, keeps the root and leaves, and gives the same gradients', async () => {
    const run = (release: boolean) => {
      const x = tensor(Array.from({ length: 250_000 }, (_, i) => Math.sin(i) / 2), { shape: [500, 500], requiresGrad: true });
      const w = tensor(Array.from({ length: 250_000 }, (_, i) => Math.cos(i) / 50), { shape: [500, 500], requiresGrad: true });
      const base = liveBytes('cpu');
      const hidden: Tensor[] = [];
      let h = x;
      for (let k = 0; k < 6; k++) hidden.push((h = h.matmul(w).tanh()));
      const loss = h.square().mean();
      loss.backward(undefined, { releaseIntermediates: release });
      const kept = liveBytes('cpu') - base;
      return { x, w, loss, hidden, kept };
    };
    const plain = run(false), freed = run(true);
    expect(freed.hidden.every((t) => t.isDisposed)).toBe(true);
    expect(freed.loss.isDisposed).toBe(false);
    expect(await freed.loss.item()).toBe(await plain.loss.item());
    expect([...await freed.w.grad!.data()]).toEqual([...await plain.w.grad!.data()]);
    expect([...await freed.x.grad!.data()]).toEqual([...await plain.x.grad!.data()]);
    // left alive: the loss and the two gradients (1 MB each), not the 12 hidden activations
    expect(freed.kept).toBeLessThan(2 * 1e6 + 65536);
    expect(plain.kept).toBeGreaterThan(12 * 1e6);
  });
});
