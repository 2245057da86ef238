import { describe, expect, it } from 'vitest';
import { captureGraph, embedding, type CapturedGraph, getRngState, hasBackend, manualSeed, memoryStats, rand, randint, setRngState, tensor, tidy, zeros, type Tensor } from '@llmts/tensor';
import { compareArrays, getBackend } from '@llmts/tensor/internal';
import { AdamW, SGD, Linear } from '@llmts/nn';
import { GPT, TextTrainer, train, trainStep, type LogEntry } from '@llmts/gpt';
import { prepareCorpus } from '@llmts/data';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tinyPreset } from '../helpers/presets.ts';

const config = { vocabSize: 67, blockSize: 16, nLayer: 2, nHead: 2, nEmbd: 32, dropout: 0.1, bias: true };

/** Six training steps (dropout, clipping, AdamW, a learning rate that changes every step), eager or replayed from step 2 on. */
async function trainSix(mode: 'eager' | 'graph', batchSize = 2) {
  manualSeed(51);
  const model = new GPT(config, { device: 'gpu' });
  manualSeed(52);
  const batches = Array.from({ length: 6 }, () => ({ x: randint(0, 67, [batchSize, 16]), y: randint(0, 67, [batchSize, 16]) }));
  const opt = new AdamW(model.optimizerGroups(0.1), { lr: 1e-2 });
  // the inputs every step reads: new batches are written into them
  const x = zeros([batchSize, 16], { dtype: 'int32', device: 'gpu' }), y = zeros([batchSize, 16], { dtype: 'int32', device: 'gpu' });
  const step = () => trainStep(model, opt, () => ({ x, y }), { gradClip: 0.5 });
  const losses: number[] = [];
  let graph: CapturedGraph<Tensor> | null = null;
  for (const [i, b] of batches.entries()) {
    opt.setLr(1e-2 * (1 - i / 10));
    x.copy_(b.x);
    y.copy_(b.y);
    if (mode === 'eager' || i < 2) {
      const loss = step();
      losses.push(await loss.item());
      loss.dispose();
    } else {
      if (graph === null) graph = captureGraph(step);
      else graph.replay();
      losses.push(await graph.result.item());
    }
  }
  const weights = await Promise.all(model.parameters().map((p) => p.toArray()));
  const out = { losses, weights: weights.map((w) => (w as unknown[]).flat(4) as number[]), steps: opt.stepCount, draws: getRngState().draws, dispatches: graph?.dispatches ?? 0 };
  graph?.dispose();
  x.dispose();
  y.dispose();
  opt.dispose();
  model.dispose();
  return out;
}

describe.skipIf(!hasBackend('gpu'))('captureGraph', () => {
  it('replays a training step as running it again would: dropout draws, clipping, AdamW with a changing learning rate', async () => {
    const eager = await trainSix('eager');
    const replayed = await trainSix('graph');
    expect(replayed.dispatches).toBeGreaterThan(50);
    expect(replayed.steps).toBe(eager.steps);
    expect(replayed.draws).toBe(eager.draws); // each replay drew as many keys as a step does
    const r = compareArrays(replayed.losses, eager.losses, { rtol: 1e-5, atol: 1e-6 });
    expect(r.ok, `replayed ${replayed.losses} eager ${eager.losses}`).toBe(true);
    eager.weights.forEach((w, i) => {
      const c = compareArrays(replayed.weights[i]!, w, { rtol: 1e-4, atol: 1e-6 });
      expect(c.ok, `parameter ${i}: worst ${c.worst} at ${c.index}`).toBe(true);
    });
    // the losses move: the replays trained, they did not repeat the captured step
    expect(new Set(replayed.losses.map((l) => l.toFixed(4))).size).toBeGreaterThan(4);
  });

  it('costs no pipelines, bind groups, buffers or live bytes per replay, only its dispatches', async () => {
    manualSeed(3);
    const model = new GPT({ ...config, dropout: 0 }, { device: 'gpu' });
    const opt = new AdamW(model.optimizerGroups(0.1), { lr: 1e-3 });
    const x = randint(0, 67, [2, 16], { device: 'gpu' }), y = randint(0, 67, [2, 16], { device: 'gpu' });
    trainStep(model, opt, () => ({ x, y }), { gradClip: 1 }).dispose();
    const graph = captureGraph(() => trainStep(model, opt, () => ({ x, y }), { gradClip: 1 }));
    const backend = getBackend('gpu');
    await backend.sync();
    const before = backend.counters();
    const mem = memoryStats('gpu');
    expect(mem.graphBytes).toBeGreaterThan(0); // the step's temporaries, kept for the replays
    for (let i = 0; i < 5; i++) graph.replay();
    await graph.result.item();
    const after = backend.counters();
    expect(after.dispatches - before.dispatches).toBe(5 * graph.dispatches);
    expect(after.kernels - before.kernels).toBe(5 * graph.kernels);
    expect({ pipelines: after.pipelines - before.pipelines, bindGroups: after.bindGroups - before.bindGroups, uploads: after.uploads - before.uploads }).toEqual({ pipelines: 0, bindGroups: 0, uploads: 0 });
    const end = memoryStats('gpu');
    expect(end.liveBytes).toBe(mem.liveBytes);
    expect(end.createdBytes).toBe(mem.createdBytes);
    graph.dispose();
    expect(memoryStats('gpu').graphBytes).toBe(0);
    // the result is a plain tensor once the graph is gone
    expect(Number.isFinite(await graph.result.item())).toBe(true);
    graph.result.dispose();
    x.dispose();
    y.dispose();
    opt.dispose();
    model.dispose();
  });

  it('keeps its temporaries from other tensors, replays its uploads, and reads inputs written with copy_', async () => {
    const x = tensor([1, 2, 3, 4], { device: 'gpu' });
    // a number seen for the first time becomes a shared device constant: it outlives the capture, allowed
    const scaled = captureGraph(() => x.mul(0.8125));
    expect(await scaled.result.toArray()).toEqual([0.8125, 1.625, 2.4375, 3.25]);
    scaled.dispose();
    scaled.result.dispose();
    const graph = captureGraph(() => x.mul(2).add(tensor([10, 20, 30, 40], { device: 'gpu' })).mul(x));
    expect(await graph.result.toArray()).toEqual([12, 48, 108, 192]);
    // tensors made now must not get the graph's buffers (its product x·2 and its upload)
    const others = Array.from({ length: 8 }, () => zeros([4], { device: 'gpu' }).add(7));
    x.copy_(tensor([1, 1, 2, 2]));
    graph.replay();
    expect(await graph.result.toArray()).toEqual([12, 22, 68, 88]);
    for (const o of others) expect(await o.toArray()).toEqual([7, 7, 7, 7]);
    // x's memory stays the graph's while it lives, but a replay after x is disposed is refused
    x.dispose();
    expect(() => graph.replay()).toThrow(/was disposed after the capture/);
    graph.dispose();
    expect(() => graph.replay()).toThrow(/after dispose/);
    for (const o of others) o.dispose();
    graph.result.dispose();
  });

  it('replays a graph whose params pass the 1 MiB params buffer, in several submits', async () => {
    const x = tensor([0, 1], { device: 'gpu' });
    const backend = getBackend('gpu');
    // 4,500 dispatches of 256-byte-aligned params: past the 4,096 one params buffer holds
    const graph = captureGraph(() => {
      let t = x;
      for (let i = 0; i < 4500; i++) t = t.add(i % 3);
      return t;
    });
    expect(await graph.result.toArray()).toEqual([4500, 4501]);
    x.copy_(tensor([10, 20]));
    await backend.sync();
    const before = backend.counters();
    graph.replay();
    expect(await graph.result.toArray()).toEqual([4510, 4520]);
    expect(backend.counters().submits - before.submits).toBeGreaterThanOrEqual(2);
    graph.dispose();
    x.dispose();
    graph.result.dispose();
  });

  it('refuses to replay once a tensor it uses was given other memory or disposed (setData, loadStateDict)', async () => {
    const w = tensor([1, 2], { device: 'gpu' });
    const graph = captureGraph(() => w.mul(3));
    w.setData(tensor([5, 6], { device: 'gpu' }));
    expect(() => graph.replay()).toThrow(/given other memory.*capture again/);
    graph.dispose();
    graph.result.dispose();
    w.dispose();
    // a model's parameters: loading weights into it gives them new memory
    manualSeed(8);
    const model = new GPT({ ...config, dropout: 0 }, { device: 'gpu' });
    const opt = new AdamW(model.parameters(), { lr: 1e-3 });
    const x = randint(0, 67, [1, 16], { device: 'gpu' }), y = randint(0, 67, [1, 16], { device: 'gpu' });
    trainStep(model, opt, () => ({ x, y }), { gradClip: 1 }).dispose();
    const step = captureGraph(() => trainStep(model, opt, () => ({ x, y }), { gradClip: 1 }));
    step.replay();
    const fresh = new GPT({ ...config, dropout: 0 }, { device: 'gpu' });
    // the optimizer's loaded state replaces its moments: the old ones are disposed
    opt.loadStateDict(opt.stateDict());
    expect(() => step.replay()).toThrow(/float32 elements\) was disposed/);
    model.loadStateDict(fresh.stateDict());
    expect(() => step.replay()).toThrow(/given other memory/);
    step.dispose();
    for (const t of [step.result, x, y]) t.dispose();
    for (const m of [fresh, model]) m.dispose();
    opt.dispose();
  });

  it('draws fresh random keys at every replay, the ones running the function again would draw', async () => {
    manualSeed(9);
    const start = getRngState();
    const graph = captureGraph(() => rand([1000], { device: 'gpu' }).mul(2));
    const replays = [await graph.result.toArray()];
    for (let i = 0; i < 2; i++) {
      graph.replay();
      replays.push(await graph.result.toArray());
    }
    graph.dispose();
    setRngState(start);
    for (const r of replays) {
      const eager = tidy(() => rand([1000], { device: 'gpu' }).mul(2));
      expect(r).toEqual(await eager.toArray());
      eager.dispose();
    }
    expect(replays[1]).not.toEqual(replays[0]);
    graph.result.dispose();
  });

  it('checks a replay\'s inputs as the ops would: a bad token id written between replays fails the next read', async () => {
    const weight = rand([10, 4], { device: 'gpu' });
    const ids = tensor([1, 2, 3], { device: 'gpu' });
    const graph = captureGraph(() => embedding(ids, weight).sum());
    await graph.result.item();
    ids.copy_(tensor([1, 12, 3]));
    graph.replay();
    await expect(graph.result.item()).rejects.toThrow(/12/);
    ids.copy_(tensor([0, 1, 2]));
    graph.replay();
    expect(Number.isFinite(await graph.result.item())).toBe(true);
    graph.dispose();
    for (const t of [weight, ids, graph.result]) t.dispose();
  });

  it('follows SGD\'s learning rate between replays', async () => {
    manualSeed(4);
    const runs: number[][] = [];
    for (const mode of ['eager', 'graph'] as const) {
      manualSeed(4);
      const layer = new Linear(8, 4, { device: 'gpu' });
      const opt = new SGD(layer.parameters(), { lr: 0.1, momentum: 0.9 });
      const x = rand([3, 8], { device: 'gpu' });
      const step = () => { const loss = layer.forward(x).pow(2).mean(); loss.backward(); opt.step(); opt.zeroGrad(); return loss.detach(); };
      const losses: number[] = [];
      let graph: CapturedGraph<Tensor> | null = null;
      for (let i = 0; i < 5; i++) {
        opt.setLr(0.1 / (i + 1));
        if (mode === 'eager' || i === 0) {
          const l = tidy(step);
          losses.push(await l.item());
          l.dispose();
        } else {
          if (graph === null) graph = captureGraph(step);
          else graph.replay();
          losses.push(await graph.result.item());
        }
      }
      runs.push(losses);
      graph?.dispose();
      expect(opt.stepCount).toBe(5);
      opt.dispose();
      layer.dispose();
      x.dispose();
    }
    const r = compareArrays(runs[1]!, runs[0]!, { rtol: 1e-6, atol: 1e-7 });
    expect(r.ok, `${runs[1]} vs ${runs[0]}`).toBe(true);
  });

  it('refuses what it cannot replay, and the device keeps working', async () => {
    manualSeed(5);
    const model = new GPT({ ...config, dropout: 0 }, { device: 'gpu' });
    const opt = new AdamW(model.parameters(), { lr: 1e-3 });
    const x = randint(0, 67, [1, 16], { device: 'gpu' }), y = randint(0, 67, [1, 16], { device: 'gpu' });
    // the optimizer's first step makes its state: replays would zero it every time
    expect(() => captureGraph(() => trainStep(model, opt, () => ({ x, y }), { gradClip: 1 }))).toThrow(/outlive it.*take one step before capturing/);
    // a gradient left set would be rewritten, not accumulated
    expect(() => captureGraph(() => { model.forward(x, y).loss!.backward(); })).toThrow(/zeroGrad/);
    opt.zeroGrad();
    const cpu = tensor([1, 2]);
    expect(() => captureGraph(() => cpu.add(1))).toThrow(/CPU kernel/);
    expect(() => captureGraph(() => x.add(1), { device: 'cpu' })).toThrow(/capture on the GPU/);
    expect(() => captureGraph(() => captureGraph(() => x.add(1)))).toThrow(/do not nest/);
    expect(memoryStats('gpu').graphBytes).toBe(0); // the refused captures gave their memory back
    const z = x.add(1);
    expect(await z.toArray()).toEqual(((await x.toArray()) as number[][]).map((row) => row.map((v) => v + 1)));
    for (const t of [z, x, y, cpu]) t.dispose();
    opt.dispose();
    model.dispose();
  });

  it('llmts train replays a captured step on the GPU: the same log as op by op, through gradient accumulation, evaluations and a resume', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'graph-train-'));
    await prepareCorpus({ input: fileURLToPath(new URL('../../data/the-verdict.txt', import.meta.url)), out: join(dir, 'data'), tokenizer: 'char' });
    const preset = tinyPreset('graph-tiny', { nLayer: 2, dropout: 0.1 }, { gradAccumSteps: 2, maxIters: 16, evalInterval: 8, evalIters: 2, logInterval: 1, warmupIters: 4, lrDecayIters: 16 });
    const strip = (e: LogEntry) => ({ ...e, elapsed: 0, ...(e.type === 'train' ? { msPerIter: 0, tokensPerSec: 0 } : {}) });
    const runs: { logs: LogEntry[]; replayed: number }[] = [];
    for (const captureGraph of [false, true]) {
      const logs: LogEntry[] = [];
      const r = await train({ preset, dataDir: join(dir, 'data'), outDir: join(dir, `run-${captureGraph}`), device: 'gpu', progress: false, captureGraph, onLog: (e) => logs.push(strip(e)) });
      runs.push({ logs, replayed: r.replayedDispatches });
      r.model.dispose();
    }
    const [eager, replayed] = runs as [{ logs: LogEntry[]; replayed: number }, { logs: LogEntry[]; replayed: number }];
    expect(eager.replayed).toBe(0);
    expect(replayed.replayed).toBeGreaterThan(50);
    const losses = (logs: LogEntry[]) => logs.map((e) => (e.type === 'train' ? e.loss : e.val));
    expect(replayed.logs.map((e) => [e.type, e.iter])).toEqual(eager.logs.map((e) => [e.type, e.iter]));
    const r = compareArrays(losses(replayed.logs), losses(eager.logs), { rtol: 1e-4, atol: 1e-5 });
    expect(r.ok, `replayed ${losses(replayed.logs)} eager ${losses(eager.logs)}`).toBe(true);
    // a run stopped at 8 and resumed replays from its own second step on, and ends where the others did
    await train({ preset, dataDir: join(dir, 'data'), outDir: join(dir, 'resumed'), device: 'gpu', progress: false, train: { maxIters: 8 } }).then((x) => x.model.dispose());
    const resumedLogs: LogEntry[] = [];
    const resumed = await train({ preset, dataDir: join(dir, 'data'), outDir: join(dir, 'resumed'), device: 'gpu', progress: false, resume: true, train: { maxIters: 16 }, onLog: (e) => resumedLogs.push(strip(e)) });
    expect(resumed.replayedDispatches).toBeGreaterThan(50);
    const tail = eager.logs.filter((e) => e.iter > 8 || (e.type === 'train' && e.iter === 8));
    const t = compareArrays(losses(resumedLogs), losses(tail), { rtol: 1e-4, atol: 1e-5 });
    expect(t.ok, `resumed ${losses(resumedLogs)} straight ${losses(tail)}`).toBe(true);
    resumed.model.dispose();
  });

  it('TextTrainer (the page\'s trainer) replays its steps on the GPU and follows the CPU\'s losses', async () => {
    const text = 'First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n'.repeat(40);
    const runs: number[][] = [];
    for (const device of ['cpu', 'gpu'] as const) {
      manualSeed(5);
      const t = TextTrainer.fromText(text, { model: { nLayer: 1, nHead: 2, nEmbd: 32, blockSize: 16, dropout: 0.1 }, batchSize: 4, maxIters: 8, learningRate: 3e-3, warmupIters: 2, device });
      const losses: number[] = [];
      for (let i = 0; i < 8; i++) losses.push((await t.step()).loss);
      runs.push(losses);
      t.dispose();
    }
    const r = compareArrays(runs[1]!, runs[0]!, { rtol: 2e-4, atol: 2e-5 });
    expect(r.ok, `gpu ${runs[1]} cpu ${runs[0]}`).toBe(true);
    expect(memoryStats('gpu').graphBytes).toBe(0);
  });
});
