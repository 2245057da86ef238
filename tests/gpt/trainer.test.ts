import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { prepareCorpus } from '@llmts/data';
import { loadGPT, train, type LogEntry } from '@llmts/gpt';
import { tinyPreset as tinyPreset_ } from '../helpers/presets.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

const tinyPreset = tinyPreset_('test-tiny', { nLayer: 2, dropout: 0.1 }, { gradAccumSteps: 2, maxIters: 24, evalInterval: 8, evalIters: 2, logInterval: 4, warmupIters: 4, lrDecayIters: 24 });

async function corpus(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'trainer-'));
  await prepareCorpus({ input: join(root, 'data/the-verdict.txt'), out: join(dir, 'data'), tokenizer: 'char' });
  return dir;
}

describe('trainer', () => {
  it('trains, evaluates, checkpoints best/ and last/, logs JSON lines and writes loss plots', async () => {
    const dir = await corpus();
    const logs: LogEntry[] = [];
    const r = await train({ preset: tinyPreset, dataDir: join(dir, 'data'), outDir: join(dir, 'run'), device: 'cpu', progress: false, onLog: (e) => logs.push(e) });
    expect(r.iters).toBe(24);
    const evals = logs.filter((e) => e.type === 'eval');
    expect(evals.map((e) => e.iter)).toEqual([0, 8, 16, 24]);
    expect(evals[3]!.type === 'eval' && evals[3]!.val).toBeLessThan((evals[0] as Extract<LogEntry, { type: 'eval' }>).val);
    expect(logs.filter((e) => e.type === 'train').map((e) => e.iter)).toEqual([0, 4, 8, 12, 16, 20]);
    const lines = readFileSync(join(dir, 'run', 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as LogEntry);
    expect(lines).toEqual(logs);
    for (const f of ['best/model.safetensors', 'best/config.json', 'best/tokenizer.json', 'last/optimizer.safetensors', 'last/state.json', 'loss.svg', 'loss.png']) {
      expect(existsSync(join(dir, 'run', f)), f).toBe(true);
    }
    expect(readFileSync(join(dir, 'run', 'loss.svg'), 'utf8')).toContain('<polyline');
    expect(readFileSync(join(dir, 'run', 'loss.png')).subarray(1, 4).toString()).toBe('PNG');
    const { model, tokenizer } = loadGPT(join(dir, 'run'));
    expect(model.config.nEmbd).toBe(16);
    expect(tokenizer.vocabSize).toBe(model.config.vocabSize);
  });

  it('--resume continues the same run: the same weights and losses as an uninterrupted one', async () => {
    const dir = await corpus();
    const straight: LogEntry[] = [];
    const full = await train({ preset: tinyPreset, dataDir: join(dir, 'data'), outDir: join(dir, 'a'), device: 'cpu', progress: false, onLog: (e) => straight.push(e) });
    await train({ preset: tinyPreset, dataDir: join(dir, 'data'), outDir: join(dir, 'b'), device: 'cpu', progress: false, train: { maxIters: 16 } });
    const resumedLogs: LogEntry[] = [];
    const resumed = await train({ preset: tinyPreset, dataDir: join(dir, 'data'), outDir: join(dir, 'b'), device: 'cpu', progress: false, resume: true, train: { maxIters: 24 }, onLog: (e) => resumedLogs.push(e) });
    const a = await full.model.stateDict()['transformer.h.1.mlp.c_fc.weight']!.data();
    const b = await resumed.model.stateDict()['transformer.h.1.mlp.c_fc.weight']!.data();
    expect(b).toEqual(a);
    const strip = (e: LogEntry) => ({ ...e, elapsed: 0, ...(e.type === 'train' ? { msPerIter: 0, tokensPerSec: 0 } : {}) });
    expect(resumedLogs.map(strip)).toEqual(straight.filter((e) => e.iter > 16 || (e.type === 'train' && e.iter === 16)).map(strip));
    const log = readFileSync(join(dir, 'b', 'log.jsonl'), 'utf8').trim().split('\n').map((l) => strip(JSON.parse(l) as LogEntry));
    expect(log).toEqual(straight.map(strip));
  });

  it('refuses to resume without a checkpoint and names unknown presets', async () => {
    const dir = await corpus();
    await expect(train({ preset: tinyPreset, dataDir: join(dir, 'data'), outDir: join(dir, 'none'), resume: true, progress: false })).rejects.toThrow(/no checkpoint to resume/);
    await expect(train({ preset: 'nope', dataDir: join(dir, 'data'), outDir: join(dir, 'x'), progress: false })).rejects.toThrow(/unknown preset 'nope' \(valid: shakespeare-char, shakespeare-char-cpu, wizard-of-oz-char, gpt2-124m\)/);
  });
});
