// Runs that used to be lost or lie: overwriting an --out, two trainers on one --out, a diverged run
// saved as the best model, temporaries of killed saves left forever, a tampered or foreign resume,
// a configuration that cannot fit, and checkpoints that load although they are wrong.
import { beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { prepareCorpus } from '@llmts/data';
import { loadGPT, train } from '@llmts/gpt';
import { tinyPreset } from '../helpers/presets.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'packages/gpt/bin/llmts.js');
const llmts = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, LLMTS_QUIET: '1', LLMTS_WEBGPU: '0', ...env } });
const tiny = ['--preset', 'shakespeare-char-cpu', '--n-layer', '1', '--n-head', '2', '--n-embd', '16', '--block-size', '16', '--batch-size', '4', '--eval-iters', '1', '--eval-interval', '4', '--warmup-iters', '1'];

const preset = tinyPreset('runs-tiny');

let work = '';
let data = '';
let otherData = '';

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'runs-'));
  data = join(work, 'data');
  otherData = join(work, 'other');
  await prepareCorpus({ input: join(root, 'data/the-verdict.txt'), out: data, tokenizer: 'char' });
  await prepareCorpus({ input: join(root, 'data/wizard_of_oz.txt'), out: otherData, tokenizer: 'char' });
}, 120_000);

const fresh = (name: string) => join(work, name);
/** A copy of the run in `from`, named `name`, with one of its checkpoints edited. */
function copyRun(from: string, name: string, checkpoint: 'best' | 'last', edit: (dir: string) => void): string {
  const dir = fresh(name);
  cpSync(from, dir, { recursive: true });
  edit(join(dir, checkpoint));
  return dir;
}
const run = (out: string, extra: Partial<Parameters<typeof train>[0]> = {}) => train({ preset, dataDir: data, outDir: out, device: 'cpu', progress: false, ...extra });

describe('the output directory', () => {
  it('refuses to overwrite a run without --resume or --force, and touches nothing when it refuses', async () => {
    const out = fresh('overwrite');
    (await run(out)).model.dispose();
    const log = readFileSync(join(out, 'log.jsonl'), 'utf8');
    const r = llmts(['train', ...tiny, '--data', data, '--out', out, '--max-iters', '4']);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toMatch(/^error: train: --out .* already holds a run \(best, last, log\.jsonl\); pass --resume to continue it or --force to replace it$/);
    expect(readFileSync(join(out, 'log.jsonl'), 'utf8')).toBe(log);
    const forced = llmts(['train', ...tiny, '--data', data, '--out', out, '--max-iters', '4', '--force']);
    expect(forced.status, forced.stderr).toBe(0);
    expect(readFileSync(join(out, 'log.jsonl'), 'utf8')).not.toBe(log);
    expect(llmts(['train', ...tiny, '--data', data, '--out', out, '--resume', '--force']).stderr).toMatch(/give one/);
  });

  it('lets one trainer at a time use an --out, and takes over the lock of a trainer that died', async () => {
    const out = fresh('locked');
    mkdirSync(out);
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    try {
      writeFileSync(join(out, '.lock'), `${holder.pid}\n`);
      const r = llmts(['train', ...tiny, '--data', data, '--out', out, '--max-iters', '2']);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`--out .* is in use by another trainer \\(pid ${holder.pid}\\)`));
    } finally {
      holder.kill();
    }
    writeFileSync(join(out, '.lock'), '999999999\n'); // no such process
    const r = llmts(['train', ...tiny, '--data', data, '--out', out, '--max-iters', '2']);
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(join(out, '.lock'))).toBe(false);
  });

  it('removes the temporaries of saves that were killed, and keeps a live process\'s', async () => {
    const out = fresh('stale');
    mkdirSync(join(out, 'best.tmp-999999991'), { recursive: true });
    writeFileSync(join(out, 'best.tmp-999999991', 'model.safetensors'), 'partial');
    writeFileSync(join(out, '.log.jsonl.tmp-999999992-abc'), 'x');
    const alive = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    try {
      mkdirSync(join(out, `last.tmp-${alive.pid}`));
      (await run(out)).model.dispose();
      const left = readdirSync(out);
      expect(left).not.toContain('best.tmp-999999991');
      expect(left).not.toContain('.log.jsonl.tmp-999999992-abc');
      expect(left).toContain(`last.tmp-${alive.pid}`);
    } finally {
      alive.kill();
    }
  });
});

describe('a diverged run', () => {
  it('stops with a clear error and a non-zero exit; best/ keeps the last finite model', () => {
    const out = fresh('diverged');
    expect(llmts(['train', ...tiny, '--data', data, '--out', out, '--max-iters', '8']).status).toBe(0);
    const best = readFileSync(join(out, 'best', 'model.safetensors'));
    const r = llmts(['train', ...tiny, '--data', data, '--out', out, '--resume', '--max-iters', '80', '--learning-rate', '1e10', '--grad-clip', '0']);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(/^error: train: diverged at iteration \d+: .*(NaN|Infinity)/);
    expect(readFileSync(join(out, 'best', 'model.safetensors')).equals(best)).toBe(true);
    const { model } = loadGPT(out, { device: 'cpu' }); // loading checks every weight is finite
    model.dispose();
  });
});

describe('--resume', () => {
  let out = '';
  beforeAll(async () => {
    out = fresh('resume');
    (await run(out)).model.dispose();
  });
  const variant = (name: string, edit: (last: string) => void) => copyRun(out, name, 'last', edit);
  const editState = (change: (s: Record<string, unknown>) => void) => (last: string) => {
    const s = JSON.parse(readFileSync(join(last, 'state.json'), 'utf8')) as Record<string, unknown>;
    change(s);
    writeFileSync(join(last, 'state.json'), JSON.stringify(s));
  };

  it('refuses a tampered state.json, naming the file and the field', async () => {
    const cases: [string, (s: Record<string, unknown>) => void, RegExp][] = [
      ['iter-string', (s) => { s.iter = '20'; }, /state\.json: 'iter' must be a non-negative integer, got "20"/],
      ['iter-negative', (s) => { s.iter = -5; }, /'iter' must be a non-negative integer, got -5/],
      ['lr-null', (s) => { (s.train as Record<string, unknown>).learningRate = null; }, /'train\.learningRate': learning-rate must be a finite number, got null/],
      ['rng', (s) => { s.rng = { seed: 'x' }; }, /'rng' must be/],
    ];
    for (const [name, change, message] of cases) {
      await expect(run(variant(name, editState(change)), { resume: true })).rejects.toThrow(message);
    }
  });

  it('refuses a deleted optimizer file, another corpus, another preset and a changed model', async () => {
    await expect(run(variant('no-opt', (last) => rmSync(join(last, 'optimizer.safetensors'))), { resume: true })).rejects.toThrow(/optimizer\.safetensors is missing/);
    await expect(run(out, { resume: true, dataDir: otherData })).rejects.toThrow(/--data .* is not the corpus this run was trained on/);
    await expect(run(out, { resume: true, preset: { ...preset, name: 'another' } })).rejects.toThrow(/was trained with --preset runs-tiny, not another/);
    await expect(run(out, { resume: true, model: { nEmbd: 32 } })).rejects.toThrow(/keeps its model/);
  });

  it('continues the elapsed time instead of restarting it', async () => {
    const dir = variant('elapsed', editState((s) => { s.trainedSeconds = 1000; }));
    const more = await run(dir, { resume: true, train: { maxIters: 12 } });
    more.model.dispose();
    const last = readFileSync(join(dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { elapsed: number; iter: number });
    expect(last.at(-1)!.iter).toBe(12);
    expect(last.at(-1)!.elapsed).toBeGreaterThan(1000);
    expect(more.seconds).toBeGreaterThan(1000);
  });
});

describe('configurations that cannot fit', () => {
  it('are refused before the first step, with what would fit', () => {
    const r = llmts(['train', '--preset', 'shakespeare-char-cpu', '--data', data, '--out', fresh('huge'), '--batch-size', '100000']);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toMatch(/^error: train: a step at --batch-size 100000 needs about [\d.]+ GiB .*more than the [\d.]+ GiB the CPU backend can use; lower --batch-size \(about \d+ fits\)/);
    expect(existsSync(join(fresh('huge'), 'log.jsonl'))).toBe(false);
  });
});

describe('checkpoints that are wrong do not load', () => {
  let good = '';
  beforeAll(async () => {
    good = fresh('ck');
    (await run(good)).model.dispose();
  });
  const broken = (name: string, edit: (best: string) => void) => copyRun(good, name, 'best', edit);
  /** Rewrite model.safetensors' header (same data) with `change` applied. */
  const editHeader = (change: (h: Record<string, { dtype: string; shape: number[]; data_offsets: number[] }>) => void) => (best: string) => {
    const file = join(best, 'model.safetensors');
    const bytes = readFileSync(file);
    const n = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + n).toString()) as Record<string, { dtype: string; shape: number[]; data_offsets: number[] }>;
    change(header);
    const json = Buffer.from(JSON.stringify(header));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    writeFileSync(file, Buffer.concat([len, json, bytes.subarray(8 + n)]));
  };
  const cases: [string, (best: string) => void, RegExp][] = [
    ['no-tokenizer', (best) => rmSync(join(best, 'tokenizer.json')), /no tokenizer\.json/],
    ['small-tokenizer', (best) => writeFileSync(join(best, 'tokenizer.json'), JSON.stringify({ type: 'char', chars: ['a', 'b', 'c'] })), /tokenizer\.json: the tokenizer has 3 tokens but the model's vocabulary is \d+/],
    ['bad-tokenizer', (best) => writeFileSync(join(best, 'tokenizer.json'), JSON.stringify({ type: 'char', chars: 'abc' })), /tokenizer\.json: tokenizer: 'chars' must be an array of characters/],
    ['int-weight', editHeader((h) => { h['transformer.ln_f.weight']!.dtype = 'I32'; }), /model\.safetensors: tensor 'transformer\.ln_f\.weight' is I32, but weights must be floating point/],
    ['missing-key', editHeader((h) => { const e = h['transformer.ln_f.bias']!; delete h['transformer.ln_f.bias']; h['transformer.ln_f.bias2'] = e; }), /model\.safetensors: unexpected tensors transformer\.ln_f\.bias2/],
    ['wrong-shape', editHeader((h) => { h['transformer.h.0.attn.c_attn.weight']!.shape = [...h['transformer.h.0.attn.c_attn.weight']!.shape].reverse(); }), /tensor 'transformer\.h\.0\.attn\.c_attn\.weight' has shape \[48,16\] but the model needs \[16,48\]/],
    ['architecture', (best) => {
      const c = JSON.parse(readFileSync(join(best, 'config.json'), 'utf8')) as Record<string, unknown>;
      writeFileSync(join(best, 'config.json'), JSON.stringify({ ...c, model_type: 'llama' }));
    }, /config\.json: unsupported architecture "llama" \(only GPT-2: "model_type": "gpt2"\)/],
    ['truncated', (best) => {
      const file = join(best, 'model.safetensors');
      writeFileSync(file, readFileSync(file).subarray(0, 5000));
    }, /model\.safetensors: .*truncated/],
    ['overlap', editHeader((h) => {
      const [a, b] = Object.keys(h).filter((k) => k !== '__metadata__').slice(0, 2) as [string, string];
      const size = h[a]!.data_offsets[1]! - h[a]!.data_offsets[0]!;
      h[b]!.data_offsets = [h[a]!.data_offsets[0]!, h[a]!.data_offsets[0]! + (h[b]!.data_offsets[1]! - h[b]!.data_offsets[0]!)];
      void size;
    }), /model\.safetensors: tensor '.*' has data_offsets .* overlapping|leaving a gap/],
    ['nan', (best) => {
      const file = join(best, 'model.safetensors');
      const bytes = readFileSync(file);
      bytes.writeFloatLE(NaN, bytes.length - 4);
      writeFileSync(file, bytes);
    }, /model\.safetensors: tensor '.*' holds NaN at flat index \d+ \(weights must be finite\)/],
    ['eps', (best) => {
      const c = JSON.parse(readFileSync(join(best, 'config.json'), 'utf8')) as Record<string, unknown>;
      c.layer_norm_epsilon = -1;
      writeFileSync(join(best, 'config.json'), JSON.stringify(c));
    }, /config\.json: GPTConfig: layerNormEps must be a positive number, got -1/],
    ['bad-json', (best) => writeFileSync(join(best, 'config.json'), '{"model": '), /config\.json: not valid JSON/],
  ];
  for (const [name, edit, message] of cases) {
    it(`${name}: one line naming the file and the key`, () => {
      const dir = broken(name, edit);
      expect(() => loadGPT(dir, { device: 'cpu' })).toThrow(message);
      const r = llmts(['sample', '--checkpoint', dir, '--max-new-tokens', '3']);
      expect(r.status).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    });
  }
});
