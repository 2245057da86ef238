// Library code frees every temporary it makes: building models, loading and saving checkpoints,
// generation, the trainer and the optimizers leave exactly their parameters and state live.
// The garbage backstop is off here, so a leak shows up in live bytes instead of being collected.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crossEntropy, liveBytes, manualSeed, memoryStats, randint, randn, resetPeakMemory, tensor, tidy, type Device } from '@llmts/tensor';
import { setGarbageBackstop, storageBytes } from '@llmts/tensor/internal';
import { AdamW, Embedding, LayerNorm, Linear, SGD, clipGradNorm, loadCheckpoint, saveCheckpoint, type Module } from '@llmts/nn';
import { CharTokenizer, prepareCorpus } from '@llmts/data';
import { GPT, generate, loadGPT, train } from '@llmts/gpt';
import { tinyPreset } from '../helpers/presets.ts';
import { testDevices } from '../helpers/devices.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
/** What a module's parameters occupy on their device (the GPU pool rounds buffers to size classes). */
const paramBytes = (m: Module) => m.parameters().reduce((n, p) => n + storageBytes(p), 0);

beforeAll(() => setGarbageBackstop(false));
afterAll(() => setGarbageBackstop(true));

describe.each(testDevices())('library code leaves only what it returns [%s]', (device: Device) => {
  it('building layers and GPTs (tied, untied, post-norm, GPT-2 width) leaves exactly the parameters', () => {
    manualSeed(0);
    const configs = [
      { vocabSize: 65, blockSize: 32, nLayer: 2, nHead: 2, nEmbd: 32 },
      { vocabSize: 101, blockSize: 16, nLayer: 1, nHead: 4, nEmbd: 64, tiedEmbeddings: false, bias: false },
      { vocabSize: 50, blockSize: 8, nLayer: 2, nHead: 2, nEmbd: 16, normPlacement: 'post' as const },
      // GPT-2 small's width and vocabulary (a 154 MB embedding): the case that used to leave 2 GiB live
      ...(device === 'cpu' ? [{ vocabSize: 50257, blockSize: 1024, nLayer: 1, nHead: 12, nEmbd: 768 }] : []),
    ];
    for (const c of configs) {
      const before = liveBytes(device);
      const m = new GPT(c, { device });
      expect(liveBytes(device) - before, JSON.stringify(c)).toBe(paramBytes(m));
      m.dispose();
      expect(liveBytes(device)).toBe(before);
    }
    const before = liveBytes(device);
    const layers = [new Linear(48, 96, { device }), new Embedding(300, 24, { device }), new LayerNorm(40, { device }), new Linear(7, 5, { bias: false, device })];
    expect(liveBytes(device) - before).toBe(layers.reduce((n, l) => n + paramBytes(l), 0));
    for (const l of layers) l.dispose();
    expect(liveBytes(device)).toBe(before);
  });

  it('a sum over some or all dims owns its memory: disposing the result frees it', async () => {
    manualSeed(3);
    const x = randn([64, 65], { device });
    const before = liveBytes(device);
    for (let i = 0; i < 50; i++) {
      x.sum().dispose();
      x.sum(1).dispose();
      x.sum([0, 1], true).dispose();
    }
    // before, each result was a reshaped view of a kept-dims tensor nobody disposed (freed only by the GC)
    expect(liveBytes(device)).toBe(before);
    // its gradient still reaches the input
    const g = x.detach().requiresGrad_();
    const y = g.sum(1);
    const total = y.sum();
    total.backward();
    expect([...await g.grad!.data()].every((v) => v === 1)).toBe(true);
    const xBytes = storageBytes(x);
    for (const t of [total, y, g.grad!, g, x]) t.dispose();
    expect(liveBytes(device)).toBe(before - xBytes);
  });

  it('outside a graph, mean, max over a dim and cross-entropy free what they make for backward: disposing the result leaves nothing', () => {
    manualSeed(4);
    const x = randn([6, 65], { device }), logits = randn([2, 65, 3], { device });
    const targets = randint(0, 65, [2, 3], { device }), flat = randint(0, 65, [6], { device });
    const mask = x.gt(0);
    const before = liveBytes(device);
    for (let i = 0; i < 20; i++) {
      mask.sum().dispose();
      x.mean().dispose();
      x.mean(1).dispose();
      x.amax(1).dispose();
      for (const reduction of ['mean', 'sum', 'none'] as const) {
        crossEntropy(logits, targets, { reduction }).dispose();
        crossEntropy(x, flat, { reduction, labelSmoothing: 0.1 }).dispose();
      }
    }
    // before, each kept its sum, log-sum-exp, counts or flattened views until the collector ran
    expect(liveBytes(device)).toBe(before);
    for (const t of [x, logits, targets, flat, mask]) t.dispose();
  });

  it('optimizers keep their state and nothing else; dispose() frees it', () => {
    const model = new GPT({ vocabSize: 40, blockSize: 16, nLayer: 1, nHead: 2, nEmbd: 16 }, { device });
    const params = paramBytes(model);
    const base = liveBytes(device);
    for (const make of [() => new AdamW(model.optimizerGroups(0.1), { lr: 1e-3 }), () => new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 })]) {
      const opt = make();
      for (let i = 0; i < 3; i++) {
        const x = randint(0, 40, [2, 16], { device });
        const y = randint(0, 40, [2, 16], { device });
        tidy(() => model.forward(x, y).loss!.backward());
        clipGradNorm(model.parameters(), 1).dispose();
        opt.step();
        opt.zeroGrad();
        x.dispose();
        y.dispose();
      }
      // Adam: two moments per parameter; SGD with momentum: one buffer
      expect(liveBytes(device) - base).toBe(opt instanceof AdamW ? 2 * params : params); // state is shaped like the parameters
      opt.dispose();
      expect(liveBytes(device)).toBe(base);
    }
    model.dispose();
  });

  it('generation (with and without the cache) leaves nothing behind', async () => {
    const model = new GPT({ vocabSize: 30, blockSize: 8, nLayer: 2, nHead: 2, nEmbd: 16 }, { device });
    const base = liveBytes(device);
    await generate(model, [[1, 2, 3]], { maxNewTokens: 12, temperature: 0.9, topK: 5 }); // past blockSize: the cache is rebuilt
    await generate(model, [[1], [2]], { maxNewTokens: 4, temperature: 0, useCache: false });
    expect(liveBytes(device)).toBe(base);
    model.dispose();
  });

  it('saving and loading checkpoints leave only the loaded model', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'leak-ck-'));
    const model = new GPT({ vocabSize: 30, blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 16 }, { device });
    const opt = new AdamW(model.parameters(), { lr: 1e-3 });
    const x = tensor([[1, 2, 3, 4]], { device });
    tidy(() => model.forward(x, x).loss!.backward());
    opt.step();
    const base = liveBytes(device);
    await saveCheckpoint(join(dir, 'ck'), { model, optimizer: opt, config: { model: model.config }, files: { 'tokenizer.json': JSON.stringify(CharTokenizer.fromText('abcdefghijklmnopqrstuvwxyz0123').toJSON()) } });
    expect(liveBytes(device)).toBe(base);
    const ck = loadCheckpoint(join(dir, 'ck'), { device });
    for (const t of [...Object.values(ck.modelState), ...Object.values(ck.optimizerState!.tensors)]) t.dispose();
    expect(liveBytes(device)).toBe(base);
    const { model: loaded } = loadGPT(join(dir, 'ck'), { device });
    expect(liveBytes(device) - base).toBe(paramBytes(loaded));
    loaded.dispose();
    opt.dispose();
    model.zeroGrad();
    model.dispose();
    x.dispose();
  });
});

describe('the trainer', () => {
  const preset = tinyPreset('leak-tiny', { dropout: 0.1 }, { gradAccumSteps: 2, maxIters: 6, evalInterval: 3, evalIters: 2, warmupIters: 2, lrDecayIters: 6 });

  it('leaves only the returned model live, after a fresh run, a resumed run and a failed one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'leak-train-'));
    await prepareCorpus({ input: join(root, 'data/the-verdict.txt'), out: join(dir, 'data'), tokenizer: 'char' });
    const base = liveBytes('cpu');
    const r = await train({ preset, dataDir: join(dir, 'data'), outDir: join(dir, 'run'), device: 'cpu', progress: false });
    expect(liveBytes('cpu') - base).toBe(paramBytes(r.model));
    r.model.dispose();
    const more = await train({ preset, dataDir: join(dir, 'data'), outDir: join(dir, 'run'), device: 'cpu', progress: false, resume: true, train: { maxIters: 9 } });
    expect(liveBytes('cpu') - base).toBe(paramBytes(more.model));
    more.model.dispose();
    await expect(train({ preset, dataDir: join(dir, 'data'), outDir: join(dir, 'run'), device: 'cpu', progress: false, resume: true, model: { nLayer: 3 } })).rejects.toThrow(/keeps its model/);
    await expect(train({ preset, dataDir: join(dir, 'data'), outDir: join(dir, 'bad'), device: 'cpu', progress: false, train: { learningRate: 1e12, gradClip: 0 } })).rejects.toThrow(/diverged/);
    expect(liveBytes('cpu')).toBe(base);
  });
});

describe('gradient accumulation', () => {
  it('frees each micro-batch\'s activations before the next: the peak of a step does not grow with --grad-accum', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'accum-'));
    await prepareCorpus({ input: join(root, 'data/the-verdict.txt'), out: join(dir, 'data'), tokenizer: 'char' });
    const peakWith = async (gradAccumSteps: number) => {
      const p = tinyPreset('accum', { blockSize: 64, nEmbd: 32, nLayer: 2 }, { batchSize: 16, gradAccumSteps, maxIters: 2, evalInterval: 100, evalIters: 1 });
      const base = liveBytes('cpu');
      resetPeakMemory('cpu');
      const r = await train({ preset: p, dataDir: join(dir, 'data'), outDir: join(dir, `run-${gradAccumSteps}`), device: 'cpu', progress: false });
      const peak = memoryStats('cpu').peakBytes - base;
      r.model.dispose();
      return peak;
    };
    const one = await peakWith(1);
    const four = await peakWith(4);
    expect(four).toBeLessThan(one * 1.15);
  });
});

describe.each(testDevices())('gradients that meet are added in place [%s]', (device: Device) => {
  it('a weight used twice (a tied embedding and head) needs no third gradient-sized buffer in backward, and its .grad accumulates in place', async () => {
    manualSeed(2);
    const w = tensor(Array.from({ length: 1000 * 1000 }, (_, i) => Math.sin(i)), { shape: [1000, 1000], device, requiresGrad: true });
    const a = tensor(Array.from({ length: 1000 }, (_, i) => Math.cos(i)), { shape: [1, 1000], device });
    const gradBytes = 4 * 1000 * 1000;
    const loss = () => tidy(() => a.matmul(w).sum().add(a.matmul(w.T).sum()));
    const l1 = loss();
    const base = liveBytes(device);
    resetPeakMemory(device);
    tidy(() => l1.backward());
    // the two gradients of w (4 MB each) are summed into the first: two buffers at most, never three
    expect(memoryStats(device).peakBytes - base).toBeLessThan(2 * gradBytes + 2 ** 20);
    const first = [...await w.grad!.data()];
    const l2 = loss();
    const before = liveBytes(device);
    tidy(() => l2.backward());
    expect(liveBytes(device)).toBeLessThanOrEqual(before); // the second backward added into .grad
    const second = [...await w.grad!.data()];
    expect(second[12345]).toBeCloseTo(2 * first[12345]!, 3);
    expect(first[1000 * 3 + 7]).toBeCloseTo(Math.cos(3) + Math.cos(7), 4); // d/dw[3][7] = a[3] + a[7]
    l1.dispose();
    l2.dispose();
    w.grad!.dispose();
  });
});
