// GPT-2 in and out in Hugging Face's layout. The shared fixture is a transformers GPT-2 with the
// logits and greedy tokens PyTorch produced (expected.json); tests/fixtures/llmts-trained is a
// checkpoint trained here, whose expectation comes from tests/reference/gpt2_reference.py, a
// GPT-2 forward written in PyTorch from the model's definition (it reproduces the shared
// fixture's expected.json to 2.3e-7):
//   /usr/bin/python3 tests/reference/gpt2_reference.py tests/fixtures/llmts-trained \
//     --ids 21,1,43,36,39,1,36,47,58,36,60,54,1,55,43,50,56,42,43,55,1,22,36,38,46 --greedy 40 \
//     --out tests/reference/llmts-trained-expected.json
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { liveBytes, manualSeed, memoryStats, noGrad, resetPeakMemory, tensor, type Device } from '@llmts/tensor';
import { compareArrays, setGarbageBackstop, storageBytes } from '@llmts/tensor/internal';
import { saveCheckpoint } from '@llmts/nn';
import { GPT, generate, loadGPT } from '@llmts/gpt';
import { testDevices } from '../helpers/devices.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const shared = join(root, '../shared/fixtures/hf-gpt2-tiny');
const ours = join(root, 'tests/fixtures/llmts-trained');
const bin = join(root, 'packages/gpt/bin/llmts.js');
const llmts = (args: string[], device: Device) =>
  spawnSync(process.execPath, [bin, ...args, '--device', device], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, LLMTS_QUIET: '1', LLMTS_DEVICE: '' } });

interface Expected { input_ids: number[]; last_logits: number[]; loss_next_token: number; greedy_20?: number[]; greedy?: number[] }
const expected = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Expected;

/** The tensors of a safetensors file as raw bytes by name, with their header entries. */
function rawTensors(file: string): Map<string, { bytes: Buffer; dtype: string; shape: number[] }> {
  const b = readFileSync(file);
  const n = Number(b.readBigUInt64LE(0));
  const header = JSON.parse(b.subarray(8, 8 + n).toString()) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const out = new Map<string, { bytes: Buffer; dtype: string; shape: number[] }>();
  for (const [k, e] of Object.entries(header)) if (k !== '__metadata__') out.set(k, { bytes: b.subarray(8 + n + e.data_offsets[0], 8 + n + e.data_offsets[1]), dtype: e.dtype, shape: e.shape });
  return out;
}

let work = '';
beforeAll(() => { work = mkdtempSync(join(tmpdir(), 'hf-')); });

describe.skipIf(!existsSync(shared))('a transformers GPT-2 directory (../shared/fixtures/hf-gpt2-tiny)', () => {
  const e = () => expected(join(shared, 'expected.json'));
  for (const device of testDevices()) {
    it(`llmts score --json matches PyTorch's last logits and loss, and greedy sampling its tokens [${device}]`, () => {
      const want = e();
      const r = llmts(['score', '--checkpoint', shared, '--prompt-ids', want.input_ids.join(','), '--json'], device);
      expect(r.status, r.stderr).toBe(0);
      const got = JSON.parse(r.stdout) as { loss: number; lastLogits: number[] };
      expect(got.lastLogits).toHaveLength(want.last_logits.length);
      const c = compareArrays(got.lastLogits, want.last_logits, { rtol: 0, atol: 1e-4 });
      expect(c.ok, `logit ${c.index}: ${got.lastLogits[c.index]} vs ${want.last_logits[c.index]}`).toBe(true);
      expect(Math.abs(got.loss - want.loss_next_token)).toBeLessThan(1e-4);
      const s = llmts(['sample', '--checkpoint', shared, '--prompt-ids', want.input_ids.join(','), '--max-new-tokens', String(want.greedy_20!.length), '--temperature', '0', '--json'], device);
      expect(s.status, s.stderr).toBe(0);
      expect((JSON.parse(s.stdout) as { tokens: number[] }).tokens).toEqual(want.greedy_20);
    });
  }

  it('export writes it back byte-identical (HF -> llm.ts -> HF), with a tokenizer transformers can read', () => {
    const out = join(work, 'exported');
    const r = llmts(['export', '--checkpoint', shared, '--out', out], 'cpu');
    expect(r.status, r.stderr).toBe(0);
    const a = rawTensors(join(shared, 'model.safetensors')), b = rawTensors(join(out, 'model.safetensors'));
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
    for (const [k, v] of a) {
      expect(b.get(k)!.shape, k).toEqual(v.shape);
      expect(b.get(k)!.bytes.equals(v.bytes), k).toBe(true);
    }
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({ model_type: 'gpt2', architectures: ['GPT2LMHeadModel'], n_embd: 64, n_layer: 2, n_head: 4, n_positions: 128, vocab_size: 50257, activation_function: 'gelu_new', tie_word_embeddings: true });
    const tok = JSON.parse(readFileSync(join(out, 'tokenizer.json'), 'utf8')) as { model: { type: string; vocab: Record<string, number>; merges: string[] }; added_tokens: { content: string; id: number }[] };
    expect(tok.model.type).toBe('BPE');
    expect(tok.model.vocab['Ġthe']).toBe(262);
    expect(tok.model.merges[0]).toBe('Ġ t');
    expect(tok.added_tokens).toEqual([expect.objectContaining({ content: '<|endoftext|>', id: 50256 })]);
  });

  it('loads sharded weights (model.safetensors.index.json)', async () => {
    const dir = join(work, 'sharded');
    mkdirSync(dir);
    cpSync(join(shared, 'config.json'), join(dir, 'config.json'));
    const all = rawTensors(join(shared, 'model.safetensors'));
    const names = [...all.keys()].sort();
    const shards = [names.slice(0, 10), names.slice(10)];
    const weightMap: Record<string, string> = {};
    shards.forEach((group, i) => {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
      let at = 0;
      for (const n of group) {
        const t = all.get(n)!;
        header[n] = { dtype: t.dtype, shape: t.shape, data_offsets: [at, at + t.bytes.length] };
        at += t.bytes.length;
        weightMap[n] = file;
      }
      let json = JSON.stringify(header);
      json += ' '.repeat((8 - (json.length % 8)) % 8);
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(json.length));
      writeFileSync(join(dir, file), Buffer.concat([len, Buffer.from(json), ...group.map((n) => all.get(n)!.bytes)]));
    });
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    const want = e();
    const { model } = loadGPT(dir, { device: 'cpu' });
    const logits = noGrad(() => model.forward(tensor([want.input_ids]))).logits;
    expect(compareArrays([...(await logits.data())], want.last_logits, { rtol: 0, atol: 1e-4 }).ok).toBe(true);
    model.dispose();
  });

  it('train --init-from starts a run from its weights, cropping the context, and checks the tokenizer', () => {
    const data = join(work, 'gpt2-data');
    const run = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, LLMTS_QUIET: '1', LLMTS_WEBGPU: '0' } });
    expect(run(['prepare', '--input', join(root, 'data/the-verdict.txt'), '--out', data, '--tokenizer', 'gpt2']).status).toBe(0);
    const out = join(work, 'from-gpt2');
    const r = run(['train', '--preset', 'gpt2-124m', '--data', data, '--out', out, '--init-from', shared, '--max-iters', '0', '--block-size', '64', '--batch-size', '2', '--eval-iters', '1']);
    expect(r.status, r.stderr).toBe(0);
    const a = rawTensors(join(shared, 'model.safetensors')), b = rawTensors(join(out, 'best', 'model.safetensors'));
    expect(b.get('transformer.wte.weight')!.bytes.equals(a.get('transformer.wte.weight')!.bytes)).toBe(true);
    expect(b.get('transformer.h.1.mlp.c_fc.weight')!.bytes.equals(a.get('transformer.h.1.mlp.c_fc.weight')!.bytes)).toBe(true);
    expect(b.get('transformer.wpe.weight')!.shape).toEqual([64, 64]);
    expect(b.get('transformer.wpe.weight')!.bytes.equals(a.get('transformer.wpe.weight')!.bytes.subarray(0, 64 * 64 * 4))).toBe(true);
    const charData = join(work, 'char-data');
    expect(run(['prepare', '--input', join(root, 'data/the-verdict.txt'), '--out', charData, '--tokenizer', 'char']).status).toBe(0);
    const bad = run(['train', '--preset', 'gpt2-124m', '--data', charData, '--out', join(work, 'bad-init'), '--init-from', shared]);
    expect(bad.stderr.trim()).toMatch(/^error: train --init-from: .* uses another tokenizer than --data .* \(prepare the corpus with the checkpoint's tokenizer: llmts prepare --tokenizer gpt2\)$/);
  });

  describe('streams tensor by tensor and leaves only the parameters live', () => {
    beforeAll(() => setGarbageBackstop(false));
    afterAll(() => setGarbageBackstop(true));
    it('the peak is the parameters plus one tensor', () => {
      const base = liveBytes('cpu');
      resetPeakMemory('cpu');
      const { model } = loadGPT(shared, { device: 'cpu' });
      const params = model.parameters().reduce((n, p) => n + storageBytes(p), 0);
      const largest = Math.max(...model.parameters().map(storageBytes));
      expect(liveBytes('cpu') - base).toBe(params);
      expect(memoryStats('cpu').peakBytes - base).toBeLessThanOrEqual(params + largest);
      model.dispose();
    });
  });
});

describe('a checkpoint trained here is a GPT-2 directory PyTorch computes the same way', () => {
  const want = () => expected(join(root, 'tests/reference/llmts-trained-expected.json'));
  for (const device of testDevices()) {
    it(`logits, loss and greedy tokens match the PyTorch GPT-2 reference [${device}]`, async () => {
      const w = want();
      const { model } = loadGPT(ours, { device });
      const ids = w.input_ids;
      const out = noGrad(() => model.forward(tensor([ids], { device }), tensor([[...ids.slice(1), -100]], { device })));
      const last = [...(await out.logits.select(1, ids.length - 1).select(0, 0).data())];
      const c = compareArrays(last, w.last_logits, { rtol: 1e-4, atol: 1e-4 });
      expect(c.ok, `logit ${c.index}: ${last[c.index]} vs ${w.last_logits[c.index]}`).toBe(true);
      expect(Math.abs((await out.loss!.item()) - w.loss_next_token)).toBeLessThan(1e-4);
      const [tokens] = await generate(model, [ids], { maxNewTokens: w.greedy!.length, temperature: 0 });
      expect(tokens).toEqual(w.greedy);
      model.dispose();
    });
  }

  it('checkpoints are written in GPT-2 keys, names and layouts (bias-free models with zero biases)', () => {
    const config = JSON.parse(readFileSync(join(ours, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({ model_type: 'gpt2', activation_function: 'gelu', llmts: { bias: false } });
    const t = rawTensors(join(ours, 'model.safetensors'));
    expect(t.get('transformer.h.0.attn.c_attn.weight')!.shape).toEqual([32, 96]); // Conv1D [in, out]
    expect(t.get('transformer.h.0.mlp.c_proj.weight')!.shape).toEqual([128, 32]);
    expect(t.has('lm_head.weight')).toBe(false); // tied
    expect([...t.get('transformer.h.1.attn.c_attn.bias')!.bytes].every((b) => b === 0)).toBe(true);
  });
});

describe('old llm.ts checkpoints keep loading', () => {
  it('our names, [out, in] weights and a camelCase config', async () => {
    manualSeed(4);
    const config = { vocabSize: 30, blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 16 };
    const m = new GPT(config);
    const dir = join(work, 'legacy');
    await saveCheckpoint(dir, { model: m, config: { model: m.config, preset: 'x' }, files: { 'tokenizer.json': JSON.stringify({ type: 'char', chars: [...'abcdefghijklmnopqrstuvwxyz .,!'] }) } });
    const { model } = loadGPT(dir, { device: 'cpu' });
    const x = tensor([[1, 2, 3, 4]]);
    const [a, b] = [m, model].map((g) => noGrad(() => g.forward(x).logits));
    expect(await a!.toArray()).toEqual(await b!.toArray());
    model.dispose();
    m.dispose();
  });
});
