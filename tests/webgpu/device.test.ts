import { describe, expect, it } from 'vitest';
import { arange, hasBackend, ones, randn, tensor, zeros } from '@llmts/tensor';
import { getBackend, webgpuBackend } from '@llmts/tensor/internal';

describe.skipIf(!hasBackend('gpu'))('GPU device handling', () => {
  it('moves tensors both ways', async () => {
    const c = tensor([[1, 2], [3, 4]]);
    const g = c.to('gpu');
    expect(g.device).toBe('gpu');
    expect(await g.mul(2).toArray()).toEqual([[2, 4], [6, 8]]);
    const back = g.mul(3).to('cpu');
    expect(back.device).toBe('cpu');
    expect(await back.toArray()).toEqual([[3, 6], [9, 12]]);
    // CPU ops on a tensor still arriving from the GPU wait for its values instead of failing
    const moved = g.add(1).to('cpu');
    const later = moved.add(1).mul(moved);
    expect(later.device).toBe('cpu');
    expect(await later.toArray()).toEqual([[6, 12], [20, 30]]);
    await moved.ready();
    expect(await moved.add(1).toArray()).toEqual([[3, 4], [5, 6]]);
    expect(await (await g.toAsync('cpu')).toArray()).toEqual([[1, 2], [3, 4]]);
  });

  it('ops on tensors of different devices are an error naming both', () => {
    expect(() => ones([2]).add(ones([2], { device: 'gpu' }))).toThrow(/add: expected all tensors on the same device, got cpu and gpu/);
    expect(() => ones([2, 2], { device: 'gpu' }).matmul(ones([2, 2]))).toThrow(/matmul: expected all tensors on the same device, got gpu and cpu/);
  });

  it('reads strided views and slices back correctly', async () => {
    const x = arange(12, undefined, { device: 'gpu' }).view(3, 4);
    expect(await x.transpose(0, 1).toArray()).toEqual([[0, 4, 8], [1, 5, 9], [2, 6, 10], [3, 7, 11]]);
    expect(await x.slice(1, 1, 3).toArray()).toEqual([[1, 2], [5, 6], [9, 10]]);
  });

  it('compiles each kernel specialisation once (pipelines are cached)', async () => {
    const a = randn([5, 7], { device: 'gpu' });
    await a.exp().add(a).add(1).sum(1).toArray();
    const count = webgpuBackend()!.memoryStats().pipelines;
    await randn([5, 7], { device: 'gpu' }).exp().add(a).sum(1).toArray();
    await randn([9, 3], { device: 'gpu' }).exp().add(1).sum(1).toArray();
    expect(webgpuBackend()!.memoryStats().pipelines).toBe(count);
  });

  it('a tensor past the storage binding limit works (bound in windows); past the largest buffer it fails with a clear error', async () => {
    const backend = webgpuBackend()!;
    const limits = backend.gpu.limits;
    // lavapipe's and browsers' 128 MiB (a GPU whose bindings reach further is held to it here)
    const binding = Math.min(limits.maxStorageBufferBindingSize, 2 ** 27);
    backend.setBindingLimit(binding);
    try {
      const n = binding / 4 + 1024;
      const before = getBackend('gpu').counters().windowedDispatches;
      const x = ones([n], { device: 'gpu' });
      const last = x.slice(0, n - 3, n).mul(2);
      expect(await x.sum().item()).toBe(n);
      expect(await last.toArray()).toEqual([2, 2, 2]);
      expect(getBackend('gpu').counters().windowedDispatches - before).toBeGreaterThan(0);
      x.dispose();
      last.dispose();
    } finally {
      backend.setBindingLimit();
    }
    const huge = Math.floor(limits.maxBufferSize / 4) + 1024;
    expect(() => zeros([huge], { device: 'gpu' })).toThrow(/exceeds this device's largest buffer of \d+ bytes/);
  });

  it.skipIf(!webgpuBackend()?.caps.f16)('stores float16 where shader-f16 exists', async () => {
    const x = tensor([1.5, -2.25, 1000.1, 1e-3], { device: 'gpu' });
    const h = x.to('float16');
    expect(h.dtype).toBe('float16');
    expect(await h.toArray()).toEqual([1.5, -2.25, 1000, 0.0010004043579101562]);
    expect(await h.mul(2).to('float32').toArray()).toEqual([3, -4.5, 2000, 0.0020008087158203125]);
    const m = randn([8, 16], { device: 'gpu' });
    const w = randn([16, 4], { device: 'gpu' });
    const full = await m.matmul(w).data();
    const half = await m.to('float16').matmul(w.to('float16')).to('float32').data();
    full.forEach((v, i) => expect(Math.abs(v - half[i]!)).toBeLessThan(0.05 * (1 + Math.abs(v))));
  });

  it('sync() waits for queued work', async () => {
    randn([100], { device: 'gpu' }).exp();
    await getBackend('gpu').sync();
  });
});
