// Numbers that used to be wrong without a warning: long float32 sums, cross-entropy over masked
// (-Infinity) logits, GPU kernels that clamped bad indices, targets and probabilities instead of
// failing, and int32 creation that wrapped out-of-range values.
import { afterAll, describe, expect, it } from 'vitest';
import { crossEntropy, embedding, full, hasBackend, logSoftmax, multinomial, ones, softmax, tensor, zeros, type Device } from '@llmts/tensor';
import { setWasmKernels, webgpuBackend } from '@llmts/tensor/internal';
import { testDevices } from '../helpers/devices.ts';

afterAll(() => setWasmKernels(true));

/** Every way the CPU and GPU compute: WebAssembly and TypeScript kernels, and the GPU when present. */
const engines: { device: Device; wasm: boolean; label: string }[] = [
  { device: 'cpu', wasm: true, label: 'cpu (WebAssembly)' },
  { device: 'cpu', wasm: false, label: 'cpu (TypeScript)' },
  ...(hasBackend('gpu') ? [{ device: 'gpu' as const, wasm: true, label: 'gpu' }] : []),
];

const tenth = Math.fround(0.1);

describe.each(engines)('long float32 sums are right [$label]', ({ device, wasm }) => {
  it('1e8 ones (on the GPU a 400 MB tensor, past lavapipe\'s 128 MiB binding), 1e6 × 0.1, rows and columns of 2e7', async () => {
    setWasmKernels(wasm);
    const n = 1e8;
    const x = ones([n], { device });
    expect(await x.sum().item()).toBe(n);
    x.dispose();
    const close = (got: number, want: number) => expect(Math.abs(got - want) / want, `${got} vs ${want}`).toBeLessThan(2e-7);
    close(await full([1e6], 0.1, { device }).sum().item(), 1e6 * tenth);
    close(await full([1, 2e7], 0.1, { device }).sum(1).item(), 2e7 * tenth);
    close(await full([2e7, 1], 0.1, { device }).sum(0).item(), 2e7 * tenth);
    close(await full([20000, 16], 0.1, { device }).sum(0).mean().item(), 20000 * tenth);
    close(await full([4e6], 0.1, { device }).mean().item(), tenth);
    setWasmKernels(true);
  }, 120_000);
});

describe.skipIf(!webgpuBackend()?.caps.f16)('float16 sums accumulate in float32', () => {
  it('5e4 × 0.1 in float16 storage', async () => {
    const h = Math.fround(0.0999755859375); // 0.1 in float16
    expect(Math.abs((await full([5e4], 0.1, { device: 'gpu', dtype: 'float16' }).sum().item()) - 5e4 * h)).toBeLessThan(4);
  });
});

describe.each(engines)('crossEntropy and softmax with -Infinity logits [$label]', ({ device, wasm }) => {
  it('masked classes give 0 or +Infinity, never NaN, with PyTorch gradients', async () => {
    setWasmKernels(wasm);
    const a = tensor([[0, -Infinity, -Infinity]], { device, dtype: 'float32', requiresGrad: true });
    const la = crossEntropy(a, tensor([0], { device }));
    expect(await la.item()).toBe(0);
    la.backward();
    expect(await a.grad!.toArray()).toEqual([[0, 0, 0]]);
    const b = tensor([[-Infinity, 0, 0]], { device, dtype: 'float32', requiresGrad: true });
    const lb = crossEntropy(b, tensor([0], { device }));
    expect(await lb.item()).toBe(Infinity);
    lb.backward();
    const gb = (await b.grad!.toArray()) as number[][];
    expect(gb[0]![0]).toBeCloseTo(-1, 6);
    expect(gb[0]![1]).toBeCloseTo(0.5, 6);
    expect(await crossEntropy(tensor([[0, -Infinity, 1]], { device, dtype: 'float32' }), tensor([2], { device }), { labelSmoothing: 0.1 }).item()).toBe(Infinity);
    const rows = tensor([[-Infinity, 0, -Infinity], [1, 2, 3]], { device, dtype: 'float32' });
    const sm = (await softmax(rows, -1).toArray()) as number[][];
    expect(sm[0]).toEqual([0, 1, 0]);
    const lsm = (await logSoftmax(rows, -1).toArray()) as number[][];
    expect(lsm[0]).toEqual([-Infinity, 0, -Infinity]);
    expect(await crossEntropy(rows, tensor([1, 2], { device })).item()).toBeCloseTo(0.4076059 / 2, 5);
    setWasmKernels(true);
  });
});

describe.each(testDevices())('bad indices, targets and probabilities fail with the same error on every device [%s]', (device) => {
  const cases: [string, () => Promise<unknown>, RegExp][] = [
    ['gather', () => zeros([2, 3], { device }).gather(1, tensor([[3], [0]], { device })).toArray(), /^gather: index 3 is out of bounds for dim 1 with size 3$/],
    ['negative gather', () => zeros([2, 3], { device }).gather(1, tensor([[-1], [0]], { device })).toArray(), /^gather: index -1 is out of bounds for dim 1 with size 3$/],
    ['embedding', () => embedding(tensor([70], { device }), zeros([65, 4], { device })).toArray(), /^indexSelect: index 70 is out of bounds for dim 0 with size 65$/],
    ['scatterAdd', () => zeros([3], { device }).scatterAdd(0, tensor([0, 5], { device }), ones([2], { device })).toArray(), /^scatterAdd: index 5 is out of bounds for dim 0 with size 3$/],
    ['crossEntropy target', () => crossEntropy(zeros([4, 5], { device }), tensor([1, 2, 7, 0], { device })).item(), /^crossEntropy: target 7 at position 2 is out of bounds for 5 classes \(ignoreIndex -100\)$/],
    ['negative probability', () => multinomial(tensor([[0.5, -0.25, 0.5]], { device }), 1).toArray(), /^multinomial: probabilities must be finite and non-negative, row 0 has -0.25$/],
    ['zero row', () => multinomial(tensor([[0.5, 0.5], [0, 0]], { device, dtype: 'float32' }), 1).toArray(), /^multinomial: row 1 has no positive probability$/],
    ['too few classes', () => multinomial(tensor([[0, 0.5, 0.5]], { device }), 3).toArray(), /^multinomial: row 0 has fewer than 3 positive classes to draw without replacement$/],
  ];
  for (const [name, run, message] of cases) {
    it(name, async () => {
      await expect((async () => run())()).rejects.toThrow(message); // the CPU throws at once, the GPU at the read
      expect(await tensor([1, 2], { device }).sum().item()).toBe(3); // the device goes on working
    });
  }
});

describe('int32 creation refuses what it cannot hold', () => {
  it('out of range, NaN and infinities are errors; fractions truncate as in PyTorch', async () => {
    expect(() => tensor([3e9], { dtype: 'int32' })).toThrow(/tensor: value 3000000000 at flat index 0 cannot be converted to int32/);
    expect(() => tensor([1, NaN], { dtype: 'int32' })).toThrow(/value NaN at flat index 1 cannot be converted to int32/);
    expect(() => tensor([-Infinity], { dtype: 'int32' })).toThrow(/cannot be converted to int32/);
    expect(() => full([2], 2 ** 31, { dtype: 'int32' })).toThrow(/full: value 2147483648 cannot be converted to int32 without overflow/);
    expect(await tensor([2.7, -2.7, 2147483647, -2147483648], { dtype: 'int32' }).toArray()).toEqual([2, -2, 2147483647, -2147483648]);
  });

  it('integer data defaults to int32 and works as class targets, as PyTorch users write it', async () => {
    const targets = tensor([1, 0, 2]);
    expect(targets.dtype).toBe('int32');
    const loss = crossEntropy(tensor([[0.1, 2, 0.3], [3, 0.5, 0.2], [0.1, 0.2, 4]]), targets);
    expect(await loss.item()).toBeLessThan(0.3);
    expect(tensor([0.5, 1]).dtype).toBe('float32');
  });
});
