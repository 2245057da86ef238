import { describe, expect, it } from 'vitest';
import { arange, hasBackend, noGrad, tensor, zeros, type Device } from '@llmts/tensor';

// Tensor.copy_: PyTorch's in-place copy (how new inputs reach a captured graph).
const devices: Device[] = hasBackend('gpu') ? ['cpu', 'gpu'] : ['cpu'];

describe.each(devices)('copy_ on %s', (device) => {
  it('writes into the whole tensor or a view of it, broadcasting and casting, and leaves the rest alone', async () => {
    const m = zeros([3, 4], { device });
    m.copy_(arange(12).reshape(3, 4)); // int32 on the CPU, cast to float32 and moved
    expect(await m.toArray()).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]);
    m.slice(1, 1, 3).copy_(tensor([[-1, -2]], { device })); // a strided view, broadcast over rows
    expect(await m.toArray()).toEqual([[0, -1, -2, 3], [4, -1, -2, 7], [8, -1, -2, 11]]);
    m.select(0, 2).copy_(tensor([9.75]));
    expect(await m.toArray()).toEqual([[0, -1, -2, 3], [4, -1, -2, 7], [9.75, 9.75, 9.75, 9.75]]);
    const ids = zeros([2], { dtype: 'int32', device });
    ids.copy_(tensor([3.9, -2.5])); // truncated as PyTorch casts
    expect(await ids.toArray()).toEqual([3, -2]);
    for (const t of [m, ids]) t.dispose();
  });

  it('reads a copy when the source overlaps the destination', async () => {
    const s = tensor([[1, 2], [3, 4]], { device });
    s.copy_(s.transpose(0, 1));
    expect(await s.toArray()).toEqual([[1, 3], [2, 4]]);
    s.dispose();
  });

  it('refuses shapes that do not broadcast, and leaves that require gradients outside noGrad', async () => {
    const m = zeros([2, 3], { device });
    expect(() => m.copy_(tensor([1, 2]))).toThrow(/copy_: a source of shape \[2\] does not broadcast to the destination's \[2, ?3\]/);
    const w = zeros([2], { device, requiresGrad: true });
    expect(() => w.copy_(tensor([1, 2]))).toThrow(/requires gradients.*noGrad/);
    noGrad(() => w.copy_(tensor([1, 2])));
    expect(await w.toArray()).toEqual([1, 2]);
    for (const t of [m, w]) t.dispose();
  });
});
