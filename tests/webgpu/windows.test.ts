import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crossEntropy, embedding, hasBackend, layerNorm, manualSeed, randint, randn, tensor, type Tensor } from '@llmts/tensor';
import { adamUpdateMany_, clipGradNorm_, compareArrays, getBackend, webgpuBackend, windowedSource } from '@llmts/tensor/internal';
import { GPT } from '@llmts/gpt';
import { gradCases } from '../helpers/gradcases.ts';
import { assertParity, type Tolerance } from '../helpers/parity.ts';

const HEADER = `@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> P: array<u32>;`;

function containsAll(code: string, parts: readonly string[]): void {
  for (const part of parts) expect(code).toContain(part);
}

describe('windowedSource: a kernel rewritten to reach a split binding through windows', () => {
  it('reads, writes, compound assignments and nested indices go through the window functions; the bindings are renumbered', () => {
    const code = `${HEADER}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x;
  out[i] = a[i] * 2.0; // a comment naming out[ and a[
  out[P[1] + i] += a[u32(a[i])];
}`;
    const r = windowedSource(code, new Map([[0, 3], [1, 2]]), 1024);
    expect(r.layout).toEqual([
      { binding: 0, window: 0, windows: 3 }, { binding: 0, window: 1, windows: 3 }, { binding: 0, window: 2, windows: 3 },
      { binding: 1, window: 0, windows: 2 }, { binding: 1, window: 1, windows: 2 },
    ]);
    containsAll(r.code, [
      '@group(0) @binding(2) var<storage, read> a__w2: array<f32>;',
      '@group(0) @binding(5) var<storage, read> P: array<u32>;',
      'out__put(u32(i), a__at(u32(i)) * 2.0);',
      '{ let w__i = u32(P[1] + i); out__put(w__i, out__at(w__i) + (a__at(u32(u32(a__at(u32(i))))))); }',
      // 1024-byte windows of f32: 256 elements each
      'if (i < 256u) { return a__w0[i]; }',
      'if (i < 512u) { return a__w1[i - 256u]; }',
      'return a__w2[i - 512u];',
    ]);
    expect(r.code).not.toMatch(/[^_\w]a\[|[^_\w]out\[/);
  });

  it('locals and parameters that shadow a binding are left alone; atomics, compare-exchange included, get window functions', () => {
    const code = `@group(0) @binding(0) var<storage, read_write> out: array<atomic<u32>>;
@group(0) @binding(1) var<storage, read> P: array<u32>;
fn helper(out: u32) -> u32 { let a = out + 1u; return a; }
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  var old = atomicLoad(&out[gid.x]);
  loop {
    let swapped = atomicCompareExchangeWeak(&out[gid.x], old, helper(old));
    if (swapped.exchanged) { break; }
    old = swapped.old_value;
  }
  atomicAdd(&out[0], 1u);
  { let out = 3u; _ = out; }
}`;
    const r = windowedSource(code, new Map([[0, 2]]), 4096);
    containsAll(r.code, [
      'fn helper(out: u32) -> u32 { let a = out + 1u; return a; }',
      'var old = out__atomicLoad(u32(gid.x));',
      'let swapped = out__atomicCompareExchangeWeak(u32(gid.x), old, helper(old));',
      'out__atomicAdd(u32(0), 1u);',
      '{ let out = 3u; _ = out; }',
      'struct out__exchange { old_value: u32, exchanged: bool }',
      'if (i < 1024u) { return atomicAdd(&out__w0[i], v); }',
    ]);
  });

  it('refuses what cannot be split, naming the binding', () => {
    const body = (line: string) => `${HEADER}\nfn main() {\n  ${line}\n}`;
    expect(() => windowedSource(body('let n = arrayLength(&a);'), new Map([[0, 2]]), 256)).toThrow(/pointer into a split binding .*arrayLength/);
    expect(() => windowedSource(body('let p = &a[3];'), new Map([[0, 2]]), 256)).toThrow(/pointer into a split binding/);
    expect(() => windowedSource(body('out[0].x = 1.0;'), new Map([[1, 2]]), 256)).toThrow(/'out' has a component assigned/);
    expect(() => windowedSource(body('let b = a;'), new Map([[0, 2]]), 256)).toThrow(/'a' is used without an index/);
    expect(() => windowedSource(HEADER, new Map([[0, 2]]), 100)).toThrow(/not a positive multiple of 16/);
    expect(() => windowedSource(HEADER, new Map([[7, 2]]), 256)).toThrow(/binding 7 is not declared/);
  });
});

/** Bind every buffer over `bytes` in windows while the suite runs. */
function withBindingLimit(bytes: number): void {
  beforeAll(() => webgpuBackend()!.setBindingLimit(bytes));
  afterAll(() => webgpuBackend()!.setBindingLimit());
}

const DEFAULT: Tolerance = { rtol: 1e-4, atol: 1e-5 };
const tolerances: Partial<Record<keyof typeof gradCases, Tolerance>> = {
  exp: { rtol: 2e-5, atol: 1e-5 }, erf: { rtol: 1e-4, atol: 2e-6 }, pow: { rtol: 2e-4, atol: 1e-5 }, matmul: { rtol: 1e-4, atol: 1e-4 },
  sum: { rtol: 1e-4, atol: 1e-4 }, sigmoid: { rtol: 1e-4, atol: 1e-6 }, tanh: { rtol: 1e-4, atol: 1e-5 },
};

// The drawn tensors hold at most 64 elements (cat's outputs three times that): windows of 128 bytes
// split them (lavapipe aligns offsets to 16 bytes). LayerNorm's backward binds eight tensors, which
// cannot all be split within 16 bindings: its case splits the three that grow with the batch.
describe.skipIf(!hasBackend('gpu') || webgpuBackend()!.gpu.limits.minStorageBufferOffsetAlignment > 128)('every differentiable primitive with its tensors bound in windows', () => {
  const limits: Partial<Record<string, number>> = { cat: 256 };
  for (const [op, c] of Object.entries(gradCases)) {
    if (op === 'layerNorm') continue;
    it(`${op}: forward and backward equal the CPU's (windows of ${limits[op] ?? 128} bytes)`, async () => {
      webgpuBackend()!.setBindingLimit(limits[op] ?? 128);
      try {
        const before = getBackend('gpu').counters().windowedDispatches;
        await assertParity(c.arb, tolerances[op as keyof typeof gradCases] ?? DEFAULT, true, 6);
        expect(getBackend('gpu').counters().windowedDispatches).toBeGreaterThan(before);
      } finally {
        webgpuBackend()!.setBindingLimit();
      }
    });
  }

  it('layerNorm: forward and the gradients of x, weight and bias equal the CPU\'s with x, dy and dx in windows', async () => {
    manualSeed(5);
    // 300 rows: the weight and bias gradients are summed in three chunks of rows
    const x0 = randn([300, 48]), w0 = randn([48]), b0 = randn([48]), g0 = randn([300, 48]);
    const out: number[][][] = [];
    for (const device of ['cpu', 'gpu'] as const) {
      if (device === 'gpu') webgpuBackend()!.setBindingLimit(32768);
      try {
        const before = getBackend('gpu').counters().windowedDispatches;
        const [x, w, b] = [x0, w0, b0].map((t) => t.to(device).detach().requiresGrad_()) as [Tensor, Tensor, Tensor];
        const y = layerNorm(x, [48], w, b);
        y.mul(g0.to(device)).sum().backward();
        out.push([await values(y), await values(x.grad!), await values(w.grad!), await values(b.grad!)]);
        if (device === 'gpu') expect(getBackend('gpu').counters().windowedDispatches - before).toBeGreaterThanOrEqual(2);
      } finally {
        webgpuBackend()!.setBindingLimit();
      }
    }
    out[0]!.forEach((cpu, k) => {
      const r = compareArrays(out[1]![k]!, cpu, { rtol: 1e-4, atol: 1e-4 });
      expect(r.ok, `${['y', 'dx', 'dw', 'db'][k]} differs at ${r.index}`).toBe(true);
    });
  });
});

async function values(t: Tensor): Promise<number[]> {
  return [...await t.data()];
}

describe.skipIf(!hasBackend('gpu'))('a GPT trained with its embedding, logits and their gradients bound in windows', () => {
  withBindingLimit(8192);
  it('three AdamW steps with clipping give the CPU\'s losses and weights (multi-tensor optimizer groups count windows)', async () => {
    const config = { vocabSize: 97, blockSize: 16, nLayer: 1, nHead: 2, nEmbd: 32, dropout: 0, bias: true };
    const runs: { losses: number[]; wte: number[] }[] = [];
    for (const device of ['cpu', 'gpu'] as const) {
      manualSeed(11);
      const model = new GPT(config, { device });
      manualSeed(12);
      const x = randint(0, 97, [3, 16]).to(device), y = randint(0, 97, [3, 16]).to(device);
      const params = model.parameters();
      const state = params.map((p) => ({ m: p.zerosLike(), v: p.zerosLike() }));
      const losses: number[] = [];
      const before = getBackend('gpu').counters().windowedDispatches;
      for (let step = 1; step <= 3; step++) {
        for (const p of params) p.grad = null;
        const { loss } = model.forward(x, y);
        loss!.backward();
        losses.push(await loss!.item());
        clipGradNorm_(params.map((p) => p.grad!), 0.5, 1e-6).dispose();
        adamUpdateMany_(params.map((p, i) => ({ param: p, grad: p.grad!, expAvg: state[i]!.m, expAvgSq: state[i]!.v, hyper: { lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, decoupled: true, step } })));
      }
      if (device === 'gpu') expect(getBackend('gpu').counters().windowedDispatches - before).toBeGreaterThan(10);
      runs.push({ losses, wte: await values(model.transformer.wte.weight as Tensor) });
      model.dispose();
    }
    const [cpu, gpu] = runs as [typeof runs[0], typeof runs[0]];
    const l = compareArrays(gpu.losses, cpu.losses, { rtol: 1e-4, atol: 1e-4 });
    expect(l.ok, `losses gpu ${gpu.losses} cpu ${cpu.losses}`).toBe(true);
    const w = compareArrays(gpu.wte, cpu.wte, { rtol: 1e-3, atol: 1e-4 });
    expect(w.ok, `wte differs at ${w.index}: gpu ${gpu.wte[w.index]} cpu ${cpu.wte[w.index]}`).toBe(true);
  });
});

describe.skipIf(!hasBackend('gpu'))('GPT-2\'s token embedding (50257 × 768 float32, 154 MB) on a device whose bindings stop at 128 MiB', () => {
  // lavapipe's own limit; a GPU whose bindings reach further is held to it here
  withBindingLimit(128 * 2 ** 20);
  it('lookup, the tied lm_head, cross-entropy and their gradients equal the CPU\'s', async () => {
    const V = 50257, C = 768;
    manualSeed(3);
    const weight = randn([V, C]).mul(0.02);
    const ids = tensor([[0, 17, 50256, 31337, 25000, 1, 50000, 40000]], { dtype: 'int32' });
    const targets = tensor([50256, 3, 40000, 2, 31338, 17, 0, 49999], { dtype: 'int32' });
    const out: number[][] = [];
    for (const device of ['cpu', 'gpu'] as const) {
      const w = weight.to(device).detach().requiresGrad_();
      const before = getBackend('gpu').counters().windowedDispatches;
      const h = embedding(ids.to(device), w).reshape(8, C);
      const logits = h.matmul(w.T);
      const loss = crossEntropy(logits, targets.to(device));
      loss.backward();
      const g = w.grad!;
      // rows the lookup and the loss touch, past the first window included
      const rows = [0, 3, 17, 25000, 31337, 40000, 49999, 50256].flatMap((r) => [r * C, r * C + 5, r * C + 767]);
      const gradValues = await g.data();
      out.push([await loss.item(), ...rows.map((i) => gradValues[i]!), ...(await values(logits)).filter((_, i) => i % 997 === 0)]);
      if (device === 'gpu') expect(getBackend('gpu').counters().windowedDispatches - before).toBeGreaterThan(0);
      for (const t of [w, h, logits, loss]) t.dispose();
    }
    const r = compareArrays(out[1]!, out[0]!, { rtol: 1e-3, atol: 1e-6 });
    expect(r.ok, `differs at ${r.index}: gpu ${out[1]![r.index]} cpu ${out[0]![r.index]}`).toBe(true);
  }, 120_000);
});
