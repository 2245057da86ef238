import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { causalSoftmax, crossEntropy, gelu, getNumThreads, layerNorm, manualSeed, randn, setNumThreads, softmax, tensor, type Tensor } from '@llmts/tensor';
import { adamUpdate_, compareArrays, setWasmKernels, wasmVariant } from '@llmts/tensor/internal';
import { hostArb, shapeArb } from '../helpers/arbitraries.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Run `fn` with the WebAssembly kernels and with the TypeScript ones; return both results (and grads). */
async function both(make: () => Tensor[], fn: (...xs: Tensor[]) => Tensor, grads = true): Promise<{ wasm: number[][]; ts: number[][] }> {
  const out: number[][][] = [];
  for (const on of [true, false]) {
    setWasmKernels(on);
    const inputs = make();
    const y = fn(...inputs);
    const values = [[...(await y.data())]];
    if (grads && y.requiresGrad) {
      y.mul(tensor([...Array(y.numel()).keys()].map((i) => Math.cos(i)), { shape: y.shape })).sum().backward();
      for (const x of inputs) if (x.grad) values.push([...(await x.grad.data())]);
    }
    out.push(values);
  }
  setWasmKernels(true);
  return { wasm: out[0]!, ts: out[1]! };
}

/** `gradAtol` (default `atol`) bounds the gradients (outputs after the first). */
function expectClose(r: { wasm: number[][]; ts: number[][] }, rtol: number, atol: number, label: string, gradAtol = atol): void {
  expect(r.wasm.length, label).toBe(r.ts.length);
  r.ts.forEach((want, k) => {
    const c = compareArrays(r.wasm[k]!, want, { rtol, atol: k === 0 ? atol : gradAtol });
    if (!c.ok) throw new Error(`${label} (output ${k}) at ${c.index}: wasm ${r.wasm[k]![c.index]} vs typescript ${want[c.index]}`);
  });
}

const f32 = (values: number[], shape: number[], requiresGrad = true) => tensor(values, { shape, requiresGrad });

describe.skipIf(wasmVariant() === null)('WebAssembly kernels match the TypeScript reference kernels', () => {
  afterAll(() => setWasmKernels(true));

  it('report which build runs', () => {
    expect(['simd', 'simd+fma']).toContain(wasmVariant());
  });

  it('matmul for any shape, batch broadcast and transposed operands (property)', async () => {
    await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 3 }), fc.boolean(), fc.boolean(), async (M, K, N, batch, ta, tb) => {
      manualSeed(M * 7 + K * 13 + N);
      const a = randn(ta ? [batch, K, M] : [batch, M, K]), b = randn(tb ? [N, K] : [K, N]);
      const r = await both(() => [a.detach().requiresGrad_(), b.detach().requiresGrad_()], (x, y) => (ta ? x!.transpose(1, 2) : x!).matmul(tb ? y!.T : y!));
      expectClose(r, 1e-4, 1e-4, `matmul M${M} K${K} N${N} batch ${batch} ta ${ta} tb ${tb}`);
    }), { numRuns: 40 });
  });

  it('raising the thread count replaces the pool and stops its old workers (they used to stay alive)', () => {
    // in a fresh process (Linux: threads are /proc/self/task), on the built package
    const script = `import { readdirSync } from 'node:fs';
import { randn, setNumThreads } from '@llmts/tensor';
const tasks = () => readdirSync('/proc/self/task').length;
const work = () => { const a = randn([256, 256]); a.matmul(a).dispose(); a.dispose(); };
setNumThreads(2); work(); await new Promise((r) => setTimeout(r, 300));
const t0 = tasks();
for (const n of [3, 4, 5, 6]) { setNumThreads(n); work(); }
await new Promise((r) => setTimeout(r, 500));
console.log(JSON.stringify({ grown: tasks() - t0 }));`;
    const dir = mkdtempSync(join(root, 'packages', 'tensor', '.threads-'));
    try {
      writeFileSync(join(dir, 'probe.mjs'), script);
      const out = execFileSync(process.execPath, [join(dir, 'probe.mjs')], { encoding: 'utf8', env: { ...process.env, LLMTS_QUIET: '1' } });
      // 1 worker at first, 5 at the end: 4 more threads (14 more when old pools lived on)
      expect((JSON.parse(out) as { grown: number }).grown).toBeLessThanOrEqual(5);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('large matmuls split across threads give the same result with 1 and 2 threads', async () => {
    manualSeed(1);
    const a = randn([300, 200]), b = randn([200, 170]);
    const before = getNumThreads();
    setNumThreads(1);
    const one = await a.matmul(b).data();
    setNumThreads(2);
    const two = await a.matmul(b).data();
    setNumThreads(before);
    expect(compareArrays(two, one, { rtol: 1e-5, atol: 1e-5 }).ok).toBe(true);
    const r = await both(() => [a, b], (x, y) => x!.matmul(y!), false);
    expectClose(r, 1e-4, 1e-4, 'matmul 300x200x170');
  });


  it('products of 1-3 rows (generation with a KV cache) at GPT-2 widths: x·Wᵀ, x·W, q·kᵀ and att·v, on 1 and 2 threads', async () => {
    manualSeed(2);
    const before = getNumThreads();
    try {
      for (const M of [1, 2, 3]) {
        for (const [K, N] of [[768, 2304], [768, 5003], [3072, 768], [37, 29], [64, 5]] as const) {
          const x = randn([M, K]), w = randn([N, K]), wT = randn([K, N]);
          for (const threads of [1, 2]) {
            setNumThreads(threads);
            for (const [label, make] of [['x·Wᵀ', () => x.matmul(w.T)], ['x·W', () => x.matmul(wT)]] as const) {
              const r = await both(() => [], () => make(), false);
              expectClose(r, 1e-4, 1e-3, `${label} M${M} K${K} N${N} threads ${threads}`);
            }
          }
        }
        // attention with a cache: (B, H, M, hd) · (B, H, hd, T) and (B, H, M, T) · (B, H, T, hd)
        const q = randn([1, 12, M, 64]), k = randn([1, 12, 100, 64]), att = randn([1, 12, M, 100]);
        expectClose(await both(() => [], () => q.matmul(k.transpose(-2, -1)), false), 1e-4, 1e-4, `q·kᵀ M${M}`);
        expectClose(await both(() => [], () => att.matmul(k), false), 1e-4, 1e-4, `att·v M${M}`);
      }
    } finally {
      setNumThreads(before);
    }
  });
  it('binary ops on contiguous, scalar, row and column broadcasts (property)', async () => {
    await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 37 }), fc.constantFrom('same', 'scalar', 'row', 'col'), fc.constantFrom('add', 'sub', 'mul', 'div', 'maximum', 'minimum'), async (R, C, pattern, op) => {
      manualSeed(R * 100 + C);
      const a = randn([R, C]);
      const bShape = pattern === 'same' ? [R, C] : pattern === 'scalar' ? [] : pattern === 'row' ? [C] : [R, 1];
      const b = randn(bShape).abs().add(0.5);
      const r = await both(() => [a.detach().requiresGrad_(), b.detach().requiresGrad_()], (x, y) => (x as unknown as Record<string, (t: Tensor) => Tensor>)[op]!.call(x, y!));
      expectClose(r, 1e-5, 1e-6, `${op} ${pattern} [${R},${C}]`);
    }), { numRuns: 60 });
  });

  it('softmax (plain and causal), layerNorm, gelu and crossEntropy, forward and backward (property)', async () => {
    await fc.assert(fc.asyncProperty(shapeArb(2, 3, 9).chain((s) => hostArb(s, -4, 4)), async (x) => {
      const shape = x.shape;
      const C = shape[shape.length - 1]!;
      const mk = () => [f32(x.values, shape)];
      // softmax's gradient y·(g − Σ g·y) cancels terms of size ~1 (|g| ≤ 1 here): the float32
      // kernel is a few units of float32 precision at that scale from the float64 reference
      expectClose(await both(mk, (t) => softmax(t!, -1)), 2e-6, 1e-7, `softmax [${shape}]`, 5e-7);
      if (C >= shape[shape.length - 2]!) expectClose(await both(mk, (t) => causalSoftmax(t!)), 2e-6, 1e-7, `causalSoftmax [${shape}]`, 5e-7);
      expectClose(await both(() => [f32(x.values, shape), f32(x.values.slice(0, C).map((v) => v + 1), [C]), f32(x.values.slice(0, C), [C])], (t, w, b) => layerNorm(t!, [C], w!, b!)), 1e-4, 1e-5, `layerNorm [${shape}]`);
      expectClose(await both(mk, (t) => gelu(t!)), 1e-5, 2e-6, `gelu [${shape}]`);
      expectClose(await both(mk, (t) => gelu(t!, { approximate: 'tanh' })), 1e-5, 2e-6, `gelu tanh [${shape}]`);
      const rows = x.values.length / C;
      const targets = Array.from({ length: rows }, (_, i) => (i % 4 === 3 ? -100 : (i * 7) % C));
      expectClose(await both(() => [f32(x.values, [rows, C]), tensor(targets, { dtype: 'int32' })], (l, t) => crossEntropy(l!, t!, { labelSmoothing: 0.05 })), 1e-5, 1e-6, `crossEntropy [${rows},${C}]`);
    }), { numRuns: 30 });
  });

  it('sums over blocks of dims, strided copies and the AdamW update', async () => {
    manualSeed(2);
    const x = randn([5, 6, 7]);
    for (const dims of [[0], [1], [2], [0, 1], [1, 2], [0, 1, 2]]) {
      expectClose(await both(() => [x], (t) => t!.sum(dims), false), 1e-5, 1e-5, `sum dims [${dims}]`);
    }
    expectClose(await both(() => [x], (t) => t!.permute(2, 0, 1).contiguous(), false), 0, 0, 'permuted copy');
    const run = async (on: boolean) => {
      setWasmKernels(on);
      manualSeed(3);
      const p = randn([37]), g = randn([37]), m = randn([37]).abs(), v = randn([37]).abs();
      adamUpdate_(p, g, m, v, { lr: 1e-2, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1, step: 3, decoupled: true });
      return [...(await p.data()), ...(await m.data()), ...(await v.data())];
    };
    const [w, t] = [await run(true), await run(false)];
    setWasmKernels(true);
    expect(compareArrays(w, t, { rtol: 1e-5, atol: 1e-7 }).ok).toBe(true);
  });

  it('the committed kernels are what `npm run build:wasm` builds from the sources', () => {
    const out = mkdtempSync(join(tmpdir(), 'wasm-'));
    execFileSync(process.execPath, [join(root, 'packages/tensor/wasm/build.mjs'), out], { stdio: 'pipe' });
    for (const f of ['kernels.wasm', 'kernels-fma.wasm']) {
      expect(readFileSync(join(out, f)).equals(readFileSync(join(root, 'packages/tensor/wasm', f))), `${f} is stale: run npm run build:wasm`).toBe(true);
    }
  });
});
