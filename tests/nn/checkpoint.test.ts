import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, renameSync, readdirSync, truncateSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getRngState, loadSafetensors, manualSeed, randn, saveSafetensors, setRngState, tensor, type Tensor } from '@llmts/tensor';
import { parseHeader } from '@llmts/tensor/internal';
import { AdamW, Linear, Module, SGD, loadCheckpoint, saveCheckpoint } from '@llmts/nn';

const tmp = () => mkdtempSync(join(tmpdir(), 'llmts-ckpt-'));

class Tiny extends Module {
  a = new Linear(4, 3);
  b = new Linear(3, 2, { bias: false });
  forward(x: Tensor) { return this.b.forward(this.a.forward(x).tanh()); }
}

describe('safetensors', () => {
  it('round-trips float32, float16, float64, int32 and bool with metadata', async () => {
    const dir = tmp();
    const file = join(dir, 't.safetensors');
    const tensors = {
      f32: tensor([[1.5, -2], [3, 4]]),
      f16: tensor([0.5, 1000, -0.25]).to('float16'),
      f64: tensor([Math.PI], { dtype: 'float64' }),
      i32: tensor([7, -8, 2147483647], { dtype: 'int32' }),
      flag: tensor([true, false]),
    };
    await saveSafetensors(file, tensors, { note: 'hello' });
    const { tensors: back, metadata } = loadSafetensors(file);
    expect(metadata).toEqual({ note: 'hello' });
    for (const [k, t] of Object.entries(tensors)) {
      expect(back[k]!.dtype).toBe(t.dtype);
      expect(back[k]!.shape).toEqual(t.shape);
      expect(await back[k]!.toArray()).toEqual(await t.toArray());
    }
  });

  it('writes what the Python library expects: aligned JSON header, contiguous sorted offsets covering the data', async () => {
    const file = join(tmp(), 'x.safetensors');
    await saveSafetensors(file, { b: tensor([1, 2, 3], { dtype: 'float32' }), a: tensor([[1], [2]]) });
    const bytes = readFileSync(file);
    const n = Number(bytes.readBigUInt64LE(0));
    expect(n % 8).toBe(0);
    expect(bytes[8]).toBe('{'.charCodeAt(0));
    const header = JSON.parse(bytes.subarray(8, 8 + n).toString()) as Record<string, { data_offsets: [number, number]; dtype: string }>;
    expect(header.a).toEqual({ dtype: 'I32', shape: [2, 1], data_offsets: [0, 8] });
    expect(header.b).toEqual({ dtype: 'F32', shape: [3], data_offsets: [8, 20] });
    expect(bytes.length).toBe(8 + n + 20);
  });

  it('reads the Hugging Face GPT-2 checkpoint written by the Python library', () => {
    const path = join(process.cwd(), '../shared/fixtures/hf-gpt2-tiny/model.safetensors');
    if (!existsSync(path)) return;
    const { tensors } = loadSafetensors(path);
    expect(tensors['transformer.wte.weight']!.shape).toEqual([50257, 64]);
    expect(tensors['transformer.h.1.attn.c_attn.weight']!.shape).toEqual([64, 192]);
  });

  it('names the file and the fault for corrupt or truncated files', async () => {
    const dir = tmp();
    const file = join(dir, 'bad.safetensors');
    await saveSafetensors(file, { w: randn([16, 16]) });
    const good = readFileSync(file);
    writeFileSync(file, good.subarray(0, good.length - 10));
    expect(() => loadSafetensors(file)).toThrow(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: truncated: tensor 'w' needs bytes up to 1024`));
    writeFileSync(file, good.subarray(0, 5));
    expect(() => loadSafetensors(file)).toThrow(/bad\.safetensors: truncated: 5 bytes/);
    const garbage = Buffer.from(good);
    garbage.write('#', 8);
    writeFileSync(file, garbage);
    expect(() => loadSafetensors(file)).toThrow(/bad\.safetensors: header is not valid JSON/);
    expect(() => loadSafetensors(join(dir, 'nope.safetensors'))).toThrow(/nope\.safetensors: no such file/);
    expect(() => parseHeader(Buffer.from([255, 255, 255, 255, 0, 0, 0, 0, 1]), 'f')).toThrow(/f: truncated or not safetensors/);
  });
});

describe('checkpoints', () => {
  it('save and load model, config, optimizer and trainer state; a resumed run continues identically', async () => {
    const dir = join(tmp(), 'ckpt');
    manualSeed(0);
    const x = randn([8, 4]);
    const y = randn([8, 2]);
    const model = new Tiny();
    const opt = new AdamW(model.parameters(), { lr: 1e-2, weightDecay: 0.1 });
    const step = () => {
      opt.zeroGrad();
      model.forward(x).sub(y).pow(2).mean().backward();
      opt.step();
    };
    for (let i = 0; i < 3; i++) step();
    await saveCheckpoint(dir, { model, config: { hidden: 3 }, optimizer: opt, state: { iter: 3, rng: getRngState() } });
    for (let i = 0; i < 4; i++) step();
    const straight = await model.b.weight.data();

    const ck = loadCheckpoint(dir);
    expect(ck.config).toEqual({ hidden: 3 });
    expect(ck.state.iter).toBe(3);
    manualSeed(99);
    const resumed = new Tiny();
    resumed.loadStateDict(ck.modelState);
    const opt2 = new AdamW(resumed.parameters(), { lr: 1 });
    opt2.loadStateDict(ck.optimizerState!);
    setRngState(ck.state.rng as ReturnType<typeof getRngState>);
    expect(opt2.paramGroups[0]!.options.lr).toBe(1e-2);
    expect(opt2.stepCount).toBe(3);
    for (let i = 0; i < 4; i++) {
      opt2.zeroGrad();
      resumed.forward(x).sub(y).pow(2).mean().backward();
      opt2.step();
    }
    expect(await resumed.b.weight.data()).toEqual(straight);
  });

  it('an optimizer loads its own state dict (PyTorch\'s opt.load_state_dict(opt.state_dict())) and goes on unchanged', async () => {
    manualSeed(1);
    const x = randn([8, 4]), y = randn([8, 2]);
    const runs: number[][] = [];
    for (const reload of [false, true]) {
      manualSeed(2);
      const model = new Tiny();
      const opt = new AdamW(model.parameters(), { lr: 1e-2 });
      for (let i = 0; i < 4; i++) {
        opt.zeroGrad();
        model.forward(x).sub(y).pow(2).mean().backward();
        opt.step();
        if (reload && i === 1) opt.loadStateDict(opt.stateDict()); // failed before: its own tensors were freed first
      }
      runs.push([...(await model.b.weight.data())]);
      opt.dispose();
    }
    expect(runs[1]).toEqual(runs[0]);
  });

  it('stores tied weights once and restores the tie', async () => {
    const dir = join(tmp(), 'tied');
    const m = new Tiny();
    (m as unknown as { c: Linear }).c = new Linear(3, 2, { bias: false });
    (m as unknown as { c: Linear }).c.weight = m.b.weight;
    await saveCheckpoint(dir, { model: m, config: {} });
    const header = JSON.parse(readFileSync(join(dir, 'model.safetensors')).subarray(8, 8 + Number(readFileSync(join(dir, 'model.safetensors')).readBigUInt64LE(0))).toString());
    expect(Object.keys(header).filter((k) => k !== '__metadata__').sort()).toEqual(['a.bias', 'a.weight', 'b.weight']);
    const ck = loadCheckpoint(dir);
    expect(ck.modelState['c.weight']).toBe(ck.modelState['b.weight']);
  });

  it('a crash mid-save leaves the previous checkpoint loadable', async () => {
    const root = tmp();
    const dir = join(root, 'ck');
    const model = new Tiny();
    await saveCheckpoint(dir, { model, config: { v: 1 } });
    // a crash after the old directory was moved aside but before the new one was renamed in
    renameSync(dir, `${dir}.previous`);
    expect(loadCheckpoint(dir).config).toEqual({ v: 1 });
    // the next save completes and cleans up
    await saveCheckpoint(dir, { model, config: { v: 2 } });
    expect(loadCheckpoint(dir).config).toEqual({ v: 2 });
    expect(readdirSync(root).sort()).toEqual(['ck']);
  });

  it('a corrupt model file is a clear error naming the file, and nothing is half-loaded', async () => {
    const dir = join(tmp(), 'c');
    const model = new Tiny();
    await saveCheckpoint(dir, { model, config: {}, optimizer: new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 }) });
    const file = join(dir, 'model.safetensors');
    truncateSync(file, statSync(file).size - 7);
    expect(() => loadCheckpoint(dir)).toThrow(/model\.safetensors: truncated/);
    writeFileSync(join(dir, 'config.json'), '{ nope');
    expect(() => loadCheckpoint(dir)).toThrow(/config\.json: not valid JSON/);
    expect(() => loadCheckpoint(join(dir, 'missing'))).toThrow(/no such directory/);
  });
});
