// What a browser page uses instead of files, checked in Node against the file-based paths:
// safetensors as bytes, GPT checkpoints as a file map and as one tar (read back by loadGPT and the
// llmts CLI), and TextTrainer, the step-by-step trainer on text in memory.
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSafetensorsFromBytes, manualSeed, randn, safetensorsBytes, saveSafetensors, tensor, tidy } from '@llmts/tensor';
import { CharTokenizer } from '@llmts/data';
import { GPT, TextTrainer, gptToFiles, gptToTar, loadGPT, loadGPTFromFiles, saveGPT, tarFiles, untarFiles } from '@llmts/gpt';

const root = fileURLToPath(new URL('../..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'llmts-bytes-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const TEXT = 'First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n'.repeat(40);

async function logitsOf(model: GPT, ids: number[]): Promise<number[]> {
  const out = tidy(() => model.forward(tensor(ids, { dtype: 'int32', shape: [1, ids.length] })).logits);
  const values = Array.from(await out.data());
  out.dispose();
  return values;
}

describe('checkpoints as bytes', () => {
  it('safetensorsBytes is the file saveSafetensors writes, and loadSafetensorsFromBytes reads it back', async () => {
    manualSeed(3);
    const tensors = { a: randn([3, 5]), b: tensor([1, 2, 3], { dtype: 'int32' }) };
    const bytes = await safetensorsBytes(tensors, { format: 'pt' });
    await saveSafetensors(join(work, 'x.safetensors'), tensors, { format: 'pt' });
    expect(Buffer.from(bytes).equals(readFileSync(join(work, 'x.safetensors')))).toBe(true);
    const back = loadSafetensorsFromBytes(bytes, { name: 'x.safetensors' });
    expect(back.metadata).toEqual({ format: 'pt' });
    expect(Array.from(await back.tensors.a!.data())).toEqual(Array.from(await tensors.a.data()));
    expect(back.tensors.b!.dtype).toBe('int32');
    expect(() => loadSafetensorsFromBytes(bytes.subarray(0, bytes.byteLength - 4), { name: 'cut.safetensors' })).toThrow(/cut\.safetensors: truncated/);
    for (const t of [...Object.values(tensors), ...Object.values(back.tensors)]) t.dispose();
  });

  it('a tar holds the files under one folder, and a damaged one is refused', () => {
    const files = new Map([['config.json', new TextEncoder().encode('{"a":1}\n')], ['model.safetensors', new Uint8Array(1500).map((_, i) => i % 251)]]);
    const tar = tarFiles(files, 'my-gpt');
    expect(tar.byteLength % 512).toBe(0);
    const back = untarFiles(tar);
    expect([...back.keys()]).toEqual(['config.json', 'model.safetensors']);
    expect(back.get('model.safetensors')).toEqual(files.get('model.safetensors'));
    const bad = tar.slice();
    bad[10] ^= 1;
    expect(() => untarFiles(bad, 'bad.tar')).toThrow(/bad\.tar: not a tar archive \(bad header checksum/);
    expect(() => untarFiles(tar.subarray(0, 1024), 'cut.tar')).toThrow(/cut\.tar: truncated/);
    expect(() => tarFiles(new Map([['a/b', new Uint8Array(1)]]), 'x')).toThrow(/plain file name/);
  });

  it('gptToFiles is the directory saveGPT writes; loadGPTFromFiles, loadGPT of its tar, and llmts give the same model', async () => {
    manualSeed(11);
    const tokenizer = CharTokenizer.fromText(TEXT);
    const model = new GPT({ vocabSize: tokenizer.vocabSize, blockSize: 16, nLayer: 2, nHead: 2, nEmbd: 32, dropout: 0, bias: false });
    model.eval();
    const ids = tokenizer.encode('Speak, speak.');
    const want = await logitsOf(model, ids);

    const dir = join(work, 'saved');
    await saveGPT(model, tokenizer, dir);
    const files = await gptToFiles(model, tokenizer);
    for (const [name, bytes] of files) expect(Buffer.from(bytes).equals(readFileSync(join(dir, name))), name).toBe(true);

    const fromFiles = loadGPTFromFiles(new Map(readdirSync(dir).map((f) => [f, new Uint8Array(readFileSync(join(dir, f)))])), { device: 'cpu', where: 'saved' });
    expect(await logitsOf(fromFiles.model, ids)).toEqual(want);
    expect(fromFiles.tokenizer.decode(ids)).toBe('Speak, speak.');

    const tarPath = join(work, 'model.tar');
    writeFileSync(tarPath, await gptToTar(model, tokenizer, 'model'));
    const fromTar = loadGPT(tarPath, { device: 'cpu' });
    expect(await logitsOf(fromTar.model, ids)).toEqual(want);
    const cli = (checkpoint: string) => execFileSync(process.execPath, [join(root, 'packages/gpt/bin/llmts.js'), 'sample', '--checkpoint', checkpoint, '--prompt', 'Speak', '--max-new-tokens', '12', '--temperature', '0', '--json'], {
      encoding: 'utf8', env: { ...process.env, LLMTS_QUIET: '1', LLMTS_DEVICE: 'cpu' },
    });
    expect(cli(tarPath)).toBe(cli(dir));
    for (const m of [model, fromFiles.model, fromTar.model]) m.dispose();
  });

  it('a checkpoint with a file missing or broken is an error naming it', () => {
    const dir = join(work, 'broken');
    mkdirSync(dir);
    const enc = new TextEncoder();
    expect(() => loadGPTFromFiles(new Map([['model.safetensors', new Uint8Array(16)]]), { where: 'drop' })).toThrow(/drop: no config\.json/);
    expect(() => loadGPTFromFiles(new Map([['config.json', enc.encode('{"model_type": ')]]), { where: 'drop' })).toThrow(/drop\/config\.json: not valid JSON/);
    const config = enc.encode(JSON.stringify({ model_type: 'gpt2', vocab_size: 10, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2 }));
    expect(() => loadGPTFromFiles(new Map([['config.json', config]]), { where: 'drop' })).toThrow(/drop: no tokenizer\.json/);
    const tok = enc.encode(JSON.stringify(CharTokenizer.fromText('abcdefghij').toJSON()));
    expect(() => loadGPTFromFiles(new Map([['config.json', config], ['tokenizer.json', tok]]), { where: 'drop' })).toThrow(/drop: no model\.safetensors/);
    expect(() => loadGPTFromFiles(new Map([['config.json', config], ['tokenizer.json', tok], ['model.safetensors', new Uint8Array(12)]]), { where: 'drop' })).toThrow(/drop\/model\.safetensors: header is not valid JSON/);
  });
});

describe('TextTrainer', () => {
  it('lowers the loss on text in memory, estimates train and val, and refuses bad settings', async () => {
    manualSeed(5);
    const t = TextTrainer.fromText(TEXT, { model: { nLayer: 1, nHead: 2, nEmbd: 32, blockSize: 16 }, batchSize: 8, maxIters: 60, learningRate: 3e-3, warmupIters: 5, evalIters: 4, device: 'cpu' });
    const before = await t.estimateLoss();
    let last = 0;
    for (let i = 0; i < 60; i++) last = (await t.step()).loss;
    const after = await t.estimateLoss();
    expect(t.iter).toBe(60);
    expect(after.train).toBeLessThan(before.train - 1);
    expect(after.val).toBeLessThan(before.val - 1);
    expect(last).toBeLessThan(before.train - 1);
    t.dispose();
    expect(() => TextTrainer.fromText('short', { model: { blockSize: 16 } })).toThrow(/TextTrainer: the training text has 4 tokens, but a window needs more than the block size 16/);
    expect(() => TextTrainer.fromText(TEXT, { batchSize: 0 })).toThrow(/batchSize must be a positive integer/);
    expect(() => TextTrainer.fromText(TEXT, { learningRate: Number.NaN })).toThrow(/learningRate must be a finite number/);
  });
});
