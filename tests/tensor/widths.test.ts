// Kernels at the widths real models use, against independent references: the WebAssembly kernels
// against the plain TypeScript ones, the GPU against the CPU, and every fused op against its
// composition of primitives (ops/reference.ts). Rows of 384, 768 and 1024+odd, softmax rows of
// 1024, a 50257-token vocabulary, matmul K and N past every blocking constant, reductions past
// the per-thread and per-pass thresholds, and a GPT at nEmbd 384 on both devices.
import { afterAll, describe, expect, it } from 'vitest';
import { causalSoftmax, crossEntropy, gelu, hasBackend, layerNorm, logSoftmax, manualSeed, randint, randn, softmax, tensor, type Device, type Tensor } from '@llmts/tensor';
import { compareArrays, getBackend, reference, setWasmKernels } from '@llmts/tensor/internal';
import { GPT } from '@llmts/gpt';

interface Run { out: number[]; grads: number[][] }

/** Values and input gradients of `fn` (backward from a fixed, position-dependent weighting). */
async function evaluate(make: () => Tensor[], fn: (...xs: Tensor[]) => Tensor): Promise<Run> {
  const inputs = make();
  const y = fn(...inputs);
  const out = [...(await y.data())];
  const grads: number[][] = [];
  if (y.requiresGrad) {
    const w = tensor(out.map((_, i) => Math.cos(0.37 * i)), { shape: y.shape, dtype: y.dtype, device: y.device });
    y.mul(w).sum().backward();
    for (const x of inputs) if (x.grad) grads.push([...(await x.grad.data())]);
  }
  return { out, grads };
}

function expectClose(got: Run, want: Run, rtol: number, atol: number, label: string): void {
  const check = (a: number[], b: number[], what: string) => {
    expect(a.length, `${label} ${what} length`).toBe(b.length);
    const r = compareArrays(a, b, { rtol, atol });
    if (!r.ok) throw new Error(`${label} ${what}: at ${r.index} got ${a[r.index]}, want ${b[r.index]}`);
  };
  check(got.out, want.out, 'values');
  expect(got.grads.length, `${label} gradients`).toBe(want.grads.length);
  want.grads.forEach((g, i) => check(got.grads[i]!, g, `gradient ${i}`));
}

/** Host values once, so every device and kernel sees the same inputs. */
function hostRandn(shape: number[], seed: number, scale = 1): number[] {
  manualSeed(seed);
  return [...getBackend('cpu').readSync!(randn(shape, { device: 'cpu' }).mul(scale))];
}

const on = (values: number[], shape: number[], device: Device, grad = true) => tensor(values, { shape, device, dtype: 'float32', requiresGrad: grad });

afterAll(() => setWasmKernels(true));

const WIDTHS = [384, 768, 1031];
const devices: Device[] = hasBackend('gpu') ? ['cpu', 'gpu'] : ['cpu'];

describe('fused row ops at model widths: WebAssembly, TypeScript and GPU kernels against the compositions', () => {
  for (const C of WIDTHS) {
    it(`layerNorm, softmax, logSoftmax and gelu over rows of ${C}`, async () => {
      const rows = 5;
      const x = hostRandn([rows, C], C, 2), w = hostRandn([C], C + 1), b = hostRandn([C], C + 2);
      const make = (d: Device) => () => [on(x, [rows, C], d), on(w, [C], d), on(b, [C], d)];
      const want = {
        ln: await evaluate(make('cpu'), (t, ww, bb) => reference.layerNorm(t!, [C], ww!, bb!)),
        sm: await evaluate(make('cpu'), (t) => reference.softmax(t!, -1)),
        lsm: await evaluate(make('cpu'), (t) => reference.logSoftmax(t!, -1)),
        gelu: await evaluate(make('cpu'), (t) => reference.gelu(t!)),
        geluTanh: await evaluate(make('cpu'), (t) => reference.gelu(t!, { approximate: 'tanh' })),
      };
      for (const d of devices) for (const wasm of d === 'cpu' ? [true, false] : [true]) {
        setWasmKernels(wasm);
        const label = `${d}${d === 'cpu' ? (wasm ? ' wasm' : ' ts') : ''} C=${C}`;
        expectClose(await evaluate(make(d), (t, ww, bb) => layerNorm(t!, [C], ww!, bb!)), want.ln, 2e-4, 2e-5, `layerNorm ${label}`);
        expectClose(await evaluate(make(d), (t) => softmax(t!, -1)), want.sm, 2e-4, 1e-7, `softmax ${label}`);
        expectClose(await evaluate(make(d), (t) => logSoftmax(t!, -1)), want.lsm, 2e-4, 2e-5, `logSoftmax ${label}`);
        expectClose(await evaluate(make(d), (t) => gelu(t!)), want.gelu, 2e-4, 2e-5, `gelu ${label}`);
        expectClose(await evaluate(make(d), (t) => gelu(t!, { approximate: 'tanh' })), want.geluTanh, 2e-4, 2e-5, `gelu tanh ${label}`);
      }
      setWasmKernels(true);
    });
  }

  it('causal softmax over 1024 x 1024 scores', async () => {
    const T = 1024;
    const x = hostRandn([1, T, T], 11, 3);
    const mask = (d: Device) => tensor(Array.from({ length: T * T }, (_, k) => (k % T) > Math.floor(k / T)), { shape: [1, T, T], device: d });
    const want = await evaluate(() => [on(x, [1, T, T], 'cpu')], (t) => reference.softmax(t!.maskedFill(mask('cpu'), -Infinity), -1));
    for (const d of devices) for (const wasm of d === 'cpu' ? [true, false] : [true]) {
      setWasmKernels(wasm);
      expectClose(await evaluate(() => [on(x, [1, T, T], d)], (t) => causalSoftmax(t!)), want, 2e-4, 1e-7, `causalSoftmax ${d} ${wasm}`);
    }
    setWasmKernels(true);
  });

  it('crossEntropy over a 50257-token vocabulary, with ignored targets and label smoothing', async () => {
    const V = 50257, rows = 6;
    const x = hostRandn([rows, V], 13, 2);
    const targets = [0, 50256, 17, -100, 25000, 3];
    const make = (d: Device) => () => [on(x, [rows, V], d)];
    const t = (d: Device) => tensor(targets, { device: d });
    for (const smoothing of [0, 0.1]) {
      const want = await evaluate(make('cpu'), (l) => reference.crossEntropy(l!, t('cpu'), { labelSmoothing: smoothing }));
      for (const d of devices) for (const wasm of d === 'cpu' ? [true, false] : [true]) {
        setWasmKernels(wasm);
        expectClose(await evaluate(make(d), (l) => crossEntropy(l!, t(d), { labelSmoothing: smoothing })), want, 1e-4, 1e-8, `crossEntropy ${d} ${wasm} s=${smoothing}`);
      }
    }
    setWasmKernels(true);
  });
});

describe('matmul past every blocking constant', () => {
  // WebAssembly GEMM: MR 4, NR 8, KC 256, MC 96, NC 1024; GPU tiles 64 and 128
  const cases = [
    { M: 100, K: 300, N: 1030, tb: false },
    { M: 97, K: 513, N: 130, tb: true },
    { M: 256, K: 256, N: 256, tb: true },
    { M: 129, K: 17, N: 1025, tb: false },
  ];
  for (const { M, K, N, tb } of cases) {
    it(`[${M}x${K}] @ [${K}x${N}]${tb ? ' (B transposed)' : ''} against float64`, async () => {
      const a = hostRandn([M, K], M + K), b = hostRandn(tb ? [N, K] : [K, N], N);
      const make = (d: Device, dtype: 'float32' | 'float64') => () => [tensor(a, { shape: [M, K], device: d, dtype, requiresGrad: true }), tensor(b, { shape: tb ? [N, K] : [K, N], device: d, dtype, requiresGrad: true })];
      const mm = (x: Tensor[]) => x[0]!.matmul(tb ? x[1]!.T : x[1]!);
      const want = await evaluate(make('cpu', 'float64'), (...x) => mm(x));
      for (const d of devices) for (const wasm of d === 'cpu' ? [true, false] : [true]) {
        setWasmKernels(wasm);
        expectClose(await evaluate(make(d, 'float32'), (...x) => mm(x)), want, 1e-4, 2e-4 * Math.sqrt(K), `matmul ${d} ${wasm}`);
      }
      setWasmKernels(true);
    });
  }
});

describe('reductions past the per-thread and per-pass thresholds', () => {
  it('row, column and full sums, max and min over 300 to 70000 elements', async () => {
    const shapes: [number[], number | number[] | undefined][] = [[[3, 300], 1], [[5000, 3], 0], [[3, 70000], 1], [[70001], undefined], [[40, 9000], [0, 1]]];
    for (const [shape, dim] of shapes) {
      const x = hostRandn(shape, shape[0]!);
      const f64 = tensor(x, { shape, dtype: 'float64' });
      const want = { sum: [...(await f64.sum(dim).data())], max: [...(await f64.amax(dim).data())], min: [...(await f64.amin(dim).data())] };
      for (const d of devices) for (const wasm of d === 'cpu' ? [true, false] : [true]) {
        setWasmKernels(wasm);
        const t = tensor(x, { shape, device: d, dtype: 'float32' });
        const label = `[${shape}] dim ${JSON.stringify(dim)} ${d} ${wasm}`;
        expect(compareArrays([...(await t.sum(dim).data())], want.sum, { rtol: 1e-5, atol: 1e-3 }).ok, `sum ${label}`).toBe(true);
        expect(compareArrays([...(await t.amax(dim).data())], want.max, { rtol: 0, atol: 1e-6 }).ok, `max ${label}`).toBe(true);
        expect(compareArrays([...(await t.amin(dim).data())], want.min, { rtol: 0, atol: 1e-6 }).ok, `min ${label}`).toBe(true);
      }
      setWasmKernels(true);
    }
  });
});

describe.skipIf(!hasBackend('gpu'))('a GPT at nEmbd 384 on the CPU and the GPU', () => {
  it('gives the same logits, loss and gradients', async () => {
    const config = { vocabSize: 65, blockSize: 32, nLayer: 2, nHead: 6, nEmbd: 384, dropout: 0, bias: true };
    manualSeed(3);
    const cpu = new GPT(config, { device: 'cpu' });
    const gpu = new GPT(config, { device: 'gpu', init: false });
    gpu.loadStateDict(cpu.stateDict());
    const x = randint(0, 65, [3, 32], { device: 'cpu' }), y = randint(0, 65, [3, 32], { device: 'cpu' });
    const results = [];
    for (const [m, d] of [[cpu, 'cpu'], [gpu, 'gpu']] as const) {
      const { logits, loss } = m.forward(x.to(d), y.to(d));
      loss!.backward();
      const grads = await Promise.all(m.parameters().map(async (p) => [...(await p.grad!.data())]));
      results.push({ logits: [...(await logits.data())], loss: await loss!.item(), grads });
    }
    const [c, g] = results as [typeof results[0], typeof results[0]];
    expect(g.loss).toBeCloseTo(c.loss, 4);
    expect(compareArrays(g.logits, c.logits, { rtol: 1e-3, atol: 1e-4 }).ok).toBe(true);
    c.grads.forEach((cg, i) => {
      const r = compareArrays(g.grads[i]!, cg, { rtol: 2e-3, atol: 2e-5 });
      if (!r.ok) throw new Error(`gradient of ${cpu.namedParameters()[i]![0]} differs at ${r.index}: gpu ${g.grads[i]![r.index]} cpu ${cg[r.index]}`);
    });
  });
});
