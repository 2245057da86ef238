import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { hasBackend, layerNorm, manualSeed, randint, randn, type Tensor } from '@llmts/tensor';
import { compareArrays, getBackend, webgpuBackend, type Kernel } from '@llmts/tensor/internal';
import { AdamW, clipGradNorm } from '@llmts/nn';
import { GPT } from '@llmts/gpt';

// WebGPU promises 8 storage buffers per shader stage; lavapipe offers 16 and most GPUs more, so
// kernels that bind many tensors are run here as a device at the minimum would run them.
const MINIMUM = 8;

async function values(t: Tensor): Promise<number[]> {
  return [...await t.data()];
}

describe.skipIf(!hasBackend('gpu'))('a device that binds WebGPU\'s minimum of 8 storage buffers per dispatch', () => {
  beforeAll(() => webgpuBackend()!.setStorageBufferLimit(MINIMUM));
  afterAll(() => webgpuBackend()!.setStorageBufferLimit());

  it('layerNorm backward (8 tensors and the params in one dispatch elsewhere) takes two dispatches and equals the CPU', async () => {
    manualSeed(21);
    const x0 = randn([300, 96]), w0 = randn([96]), b0 = randn([96]), g0 = randn([300, 96]);
    const out: number[][][] = [];
    const dispatches: number[] = [];
    // the first backward on the GPU also makes the shared root gradient (a fill): made here first
    randn([2]).to('gpu').requiresGrad_().sum().backward();
    for (const [device, limit] of [['cpu', MINIMUM], ['gpu', MINIMUM], ['gpu', undefined]] as const) {
      webgpuBackend()!.setStorageBufferLimit(limit);
      const [x, w, b] = [x0, w0, b0].map((t) => t.to(device).detach().requiresGrad_()) as [Tensor, Tensor, Tensor];
      const y = layerNorm(x, [96], w, b);
      const loss = y.mul(g0.to(device)).sum();
      if (device === 'gpu') await getBackend('gpu').sync();
      const before = getBackend('gpu').counters().dispatches;
      loss.backward();
      if (device === 'gpu') dispatches.push(getBackend('gpu').counters().dispatches - before);
      out.push([await values(x.grad!), await values(w.grad!), await values(b.grad!)]);
    }
    webgpuBackend()!.setStorageBufferLimit(MINIMUM);
    // backward: the sum's and the product's gradients, then LayerNorm's one or two
    expect(dispatches[0]! - dispatches[1]!).toBe(1);
    for (const gpu of [out[1]!, out[2]!]) {
      out[0]!.forEach((cpu, k) => {
        const r = compareArrays(gpu[k]!, cpu, { rtol: 1e-4, atol: 1e-4 });
        expect(r.ok, `${['dx', 'dw', 'db'][k]} differs at ${r.index}`).toBe(true);
      });
    }
  });

  it('three AdamW steps with clipping give the CPU\'s losses and weights', async () => {
    const config = { vocabSize: 61, blockSize: 16, nLayer: 2, nHead: 2, nEmbd: 32, dropout: 0, bias: true };
    const runs: { losses: number[]; weights: number[][] }[] = [];
    for (const device of ['cpu', 'gpu'] as const) {
      manualSeed(31);
      const model = new GPT(config, { device });
      manualSeed(32);
      const x = randint(0, 61, [3, 16]).to(device), y = randint(0, 61, [3, 16]).to(device);
      const opt = new AdamW(model.optimizerGroups(0.1), { lr: 1e-2, betas: [0.9, 0.95], eps: 1e-8 });
      const losses: number[] = [];
      for (let step = 0; step < 3; step++) {
        const { loss } = model.forward(x, y);
        loss!.backward();
        losses.push(await loss!.item());
        clipGradNorm(model.parameters(), 0.5).dispose();
        opt.step();
        opt.zeroGrad();
      }
      runs.push({ losses, weights: await Promise.all(model.parameters().map(values)) });
      opt.dispose();
      model.dispose();
    }
    const [cpu, gpu] = runs as [typeof runs[0], typeof runs[0]];
    const l = compareArrays(gpu.losses, cpu.losses, { rtol: 1e-4, atol: 1e-4 });
    expect(l.ok, `losses gpu ${gpu.losses} cpu ${cpu.losses}`).toBe(true);
    cpu.weights.forEach((w, k) => {
      const r = compareArrays(gpu.weights[k]!, w, { rtol: 1e-3, atol: 1e-4 });
      expect(r.ok, `parameter ${k} differs at ${r.index}`).toBe(true);
    });
  });

  it('a product whose operands are bound in windows takes the generic kernel where the large tile would bind more than 8 (GPT-2\'s tied lm_head)', async () => {
    manualSeed(41);
    // with bindings of 64 KiB: x (128 × 128) fits one, W (200 × 128) and the output (128 × 200) take two
    // each; the large tile binds x and W twice: 2 + 4 + 2 + the params = 9
    const x0 = randn([128, 128]), w0 = randn([200, 128]);
    const cpu = await values(x0.matmul(w0.T));
    webgpuBackend()!.setBindingLimit(65536);
    try {
      const before = getBackend('gpu').counters().windowedDispatches;
      const gpu = await values(x0.to('gpu').matmul(w0.to('gpu').T));
      expect(getBackend('gpu').counters().windowedDispatches).toBeGreaterThan(before);
      const r = compareArrays(gpu, cpu, { rtol: 1e-4, atol: 1e-4 });
      expect(r.ok, `differs at ${r.index}`).toBe(true);
    } finally {
      webgpuBackend()!.setBindingLimit();
    }
  });

  it('a kernel binding more is refused naming it and the counts, and the device keeps working', async () => {
    const nine: Kernel<null> = {
      name: 'nineBindings',
      cpu: () => { throw new Error('unused'); },
      gpu: (ctx) => {
        const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
        ctx.dispatch({
          code: `${names.map((n, i) => `@group(0) @binding(${i}) var<storage, read_write> ${n}: array<f32>;`).join('\n')}
@group(0) @binding(8) var<storage, read> P: array<u32>;
@compute @workgroup_size(1) fn main() { a[0] = b[0] + c[0] + d[0] + e[0] + f[0] + g[0] + h[0] + f32(P[0]); }`,
          bindings: names.map((_, i) => ({ output: i })),
          params: [1],
          workgroups: [1],
        });
      },
    };
    const backend = getBackend('gpu');
    expect(() => backend.exec(nine, [], Array.from({ length: 8 }, () => ({ shape: [1], dtype: 'float32' as const })), null)).toThrow(/nineBindings: binds 9 storage buffers \(its tensors and the params\); this device binds at most 8 per dispatch/);
    expect(await randn([4]).to('gpu').add(1).sum().item()).toBeTypeOf('number');
    expect(() => webgpuBackend()!.setStorageBufferLimit(7)).toThrow(/outside 8/);
  });
});

describe.skipIf(!hasBackend('gpu'))('Dawn\'s null device: WebGPU\'s minimum limits, every command validated, nothing run', () => {
  it('training steps (dropout, accumulation, clipping, AdamW; op by op and replayed from a captured graph), generation with and without the KV cache, int8/int4 weights and float16 pass its validation', () => {
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'tests/webgpu/fixtures/null-device.ts'], { cwd: root, env: { ...process.env, LLMTS_DAWN_FLAGS: 'backend=null', LLMTS_QUIET: '1' }, encoding: 'utf8', timeout: 120_000 });
    expect(r.error, String(r.error)).toBeUndefined();
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("device Dawn's null device");
    expect(r.stdout).toMatch(/ok: \d+ dispatches/);
  });
});
