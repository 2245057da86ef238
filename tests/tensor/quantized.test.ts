// Weight-only int8/int4 quantization: the WebAssembly, TypeScript and GPU kernels against a float
// matmul with the dequantized weight (odd widths, tails past whole chunks, batches of rows), the
// quantization error bound, and a quantized GPT against its float32 self.
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dequantize, liveBytes, manualSeed, noGrad, quantizeWeight, quantizedEmbedding, quantizedMatmul, randn, tensor, type QuantBits } from '@llmts/tensor';
import { compareArrays, setWasmKernels } from '@llmts/tensor/internal';
import { loadGPT } from '@llmts/gpt';
import { testDevices } from '../helpers/devices.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const fixture = join(root, '../shared/fixtures/hf-gpt2-tiny');
const cpu = { device: 'cpu' as const };
afterAll(() => setWasmKernels(true));

describe.each([8, 4] as QuantBits[])('int%i weights', (bits) => {
  it('dequantize within half a step of the original (per row for int8, per 32 values for int4)', async () => {
    manualSeed(bits);
    const w = randn([37, 101], cpu);
    const q = quantizeWeight(w, bits);
    const values = (await w.data()) as Float32Array;
    const back = (await (await dequantize(q)).data()) as Float32Array;
    const limit = bits === 8 ? 127 : 7;
    for (let r = 0; r < 37; r++) {
      for (let k = 0; k < 101; k++) {
        const g = bits === 8 ? [0, 101] : [Math.floor(k / 32) * 32, Math.min(101, Math.floor(k / 32) * 32 + 32)];
        let m = 0;
        for (let j = g[0]!; j < g[1]!; j++) m = Math.max(m, Math.abs(values[r * 101 + j]!));
        expect(Math.abs(back[r * 101 + k]! - values[r * 101 + k]!)).toBeLessThanOrEqual((m / limit) / 2 + 1e-6);
      }
    }
    expect(q.bytes).toBeLessThan(37 * 101 * 4 / (bits === 8 ? 3 : 4.5)); // rows padded to 16-byte chunks
  });

  for (const [N, K, O] of [[1, 768, 257], [7, 100, 33], [3, 33, 9], [2, 1031, 5]]) {
    it(`matmul [${N}x${K}] by [${O}x${K}] on every kernel matches the dequantized float product`, async () => {
      manualSeed(N + K + O);
      const w = randn([O, K], cpu), x = randn([N, K], cpu), b = randn([O], cpu);
      const q = quantizeWeight(w, bits);
      const want = [...(await x.matmul((await dequantize(q)).T).add(b).data())];
      for (const wasm of [true, false]) {
        setWasmKernels(wasm);
        const r = compareArrays([...(await quantizedMatmul(x, q, b).data())], want, { rtol: 1e-4, atol: 1e-4 });
        expect(r.ok, `${wasm ? 'wasm' : 'ts'} at ${r.index}`).toBe(true);
      }
      setWasmKernels(true);
      for (const device of testDevices().filter((d) => d === 'gpu')) {
        const got = [...(await quantizedMatmul(x.to(device), q.to(device), b.to(device)).data())];
        expect(compareArrays(got, want, { rtol: 1e-4, atol: 1e-4 }).ok, 'gpu').toBe(true);
        expect(compareArrays([...(await quantizedMatmul(x.to(device).view(1, N, K), q.to(device)).data())], [...(await quantizedMatmul(x, q).data())], { rtol: 1e-4, atol: 1e-4 }).ok).toBe(true);
      }
    });
  }

  it('embedding rows on every device equal the dequantized rows; bad ids are the usual error', async () => {
    manualSeed(3);
    const q = quantizeWeight(randn([50, 70], cpu), bits);
    const ids = tensor([[0, 49], [7, 7]], cpu);
    const want = [...(await (await dequantize(q)).indexSelect(0, ids.view(-1)).data())];
    for (const device of testDevices()) {
      const got = quantizedEmbedding(ids.to(device), q.to(device));
      expect(got.shape).toEqual([2, 2, 70]);
      expect(compareArrays([...(await got.data())], want, { rtol: 1e-6, atol: 1e-6 }).ok, device).toBe(true);
      await expect((async () => quantizedEmbedding(tensor([50], { device }), q.to(device)).data())()).rejects.toThrow(/embedding: index 50 is out of bounds for dim 0 with size 50/);
    }
  });
});

describe.skipIf(!existsSync(fixture))('a quantized GPT', () => {
  for (const device of testDevices()) {
    it(`keeps its logits near float32 and takes a quarter (int8) or a sixth (int4) of the weight memory [${device}]`, async () => {
      const ids = [464, 2068, 7586, 21831, 18045, 625];
      const run = async (quantize?: 'int8' | 'int4') => {
        const before = liveBytes(device);
        const { model, quantized } = loadGPT(fixture, { device, ...(quantize ? { quantize } : {}) });
        const bytes = liveBytes(device) - before;
        const logits = [...(await noGrad(() => model.forward(tensor([ids], { device }))).logits.data())];
        model.dispose();
        return { logits, bytes, quantized };
      };
      const f = await run();
      for (const [mode, tol] of [['int8', 0.05], ['int4', 0.5]] as const) {
        const q = await run(mode);
        expect(q.quantized!.layers).toBe(10); // 8 projections, the token embedding, the tied head
        expect(q.quantized!.quantizedBytes).toBeLessThan(q.quantized!.floatBytes / (mode === 'int8' ? 3.5 : 5));
        expect(compareArrays(q.logits, f.logits, { rtol: 0, atol: tol }).ok, mode).toBe(true);
        expect(q.logits.some((v, i) => v !== f.logits[i])).toBe(true);
      }
    });
  }

  it('llmts score and sample take --quantize', () => {
    const r = spawnSync(process.execPath, [join(root, 'packages/gpt/bin/llmts.js'), 'sample', '--checkpoint', fixture, '--prompt-ids', '464,2068', '--max-new-tokens', '5', '--temperature', '0', '--quantize', 'int4', '--json', '--device', 'cpu'], { encoding: 'utf8', env: { ...process.env, LLMTS_QUIET: '' } });
    expect(r.status, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { tokens: number[] }).tokens).toHaveLength(5);
    expect(r.stderr).toMatch(/llmts: int4 weights for 10 layers: 12\.6 MiB -> 2\.0 MiB/);
  });
});
