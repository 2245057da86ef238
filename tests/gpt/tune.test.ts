import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { prepareCorpus } from '@llmts/data';
import { parseBudget, tune, trialTable } from '@llmts/gpt';
import { readConfigFile } from '../../packages/gpt/src/train/settings.ts';
import { tinyPreset } from '../helpers/presets.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('llmts tune', () => {
  it('reads budgets as durations', () => {
    expect(parseBudget('10m')).toBe(600);
    expect(parseBudget('90s')).toBe(90);
    expect(parseBudget('1h30m')).toBe(5400);
    expect(parseBudget('1.5h')).toBe(5400);
    expect(parseBudget('45')).toBe(45);
    expect(() => parseBudget('ten minutes')).toThrow(/expected a duration such as 10m/);
    expect(() => parseBudget('0s')).toThrow(/expected a duration/);
  });

  it('measures batch sizes, then learning rates and warm-ups at the chosen one, within the budget, and writes a config train reads', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tune-'));
    await prepareCorpus({ input: join(root, 'data/the-verdict.txt'), out: join(dir, 'data'), tokenizer: 'char' });
    const out = join(dir, 'tuned.json');
    const started = Date.now();
    const r = await tune({ preset: tinyPreset('tiny', { blockSize: 32, nEmbd: 32, nLayer: 1 }), dataDir: join(dir, 'data'), budgetSeconds: 12, device: 'cpu', out });
    const seconds = (Date.now() - started) / 1000;
    expect(seconds).toBeLessThan(12 * 1.5);
    const phases = r.trials.map((t) => t.phase);
    expect(phases.filter((p) => p === 'learning-rate')).toHaveLength(5);
    expect(phases.filter((p) => p === 'warmup')).toHaveLength(2);
    const batches = r.trials.filter((t) => t.phase === 'batch').map((t) => t.batchSize);
    expect(batches[0]).toBe(1);
    expect(batches).toContain(r.best.batchSize);
    expect(r.best.batchSize).toBeLessThanOrEqual(r.memoryBatchLimit);
    const searched = r.trials.filter((t) => t.phase !== 'batch');
    for (const t of searched) {
      expect(t.batchSize).toBe(r.best.batchSize);
      expect(t.steps).toBe(r.trialSteps);
    }
    const lrs = searched.filter((t) => t.phase === 'learning-rate').map((t) => t.learningRate);
    expect(lrs.map((v) => v / 3e-3)).toEqual([0.25, 0.5, 1, 2, 4].map((f) => expect.closeTo(f, 10) as unknown as number));
    const bestTrial = searched.reduce((a, b) => ((b.valLoss ?? Infinity) < (a.valLoss ?? Infinity) ? b : a));
    expect(r.best).toMatchObject({ learningRate: bestTrial.learningRate, warmupIters: bestTrial.warmupIters, valLoss: bestTrial.valLoss });
    expect(trialTable(r.trials).split('\n')).toHaveLength(r.trials.length + 1);
    const file = JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>;
    expect(file).toMatchObject({ batch_size: r.best.batchSize, learning_rate: r.best.learningRate, warmup_iters: r.best.warmupIters, min_lr: r.best.minLr });
    expect(r.best.minLr).toBeCloseTo(r.best.learningRate / 10, 12);
    expect(readConfigFile(out).train).toEqual({ batchSize: r.best.batchSize, gradAccumSteps: 1, learningRate: r.best.learningRate, warmupIters: r.best.warmupIters, minLr: r.best.minLr });
    const t = spawnSync(process.execPath, [join(root, 'packages/gpt/bin/llmts.js'), 'train', '--preset', 'shakespeare-char-cpu', '--data', join(dir, 'data'), '--out', join(dir, 'run'), '--config', out, '--max-iters', '2', '--eval-iters', '1', '--n-layer', '1', '--n-embd', '32', '--block-size', '32'], { cwd: root, encoding: 'utf8', env: { ...process.env, LLMTS_DEVICE: 'cpu', LLMTS_QUIET: '1', LLMTS_WEBGPU: '0' } });
    expect(t.status, t.stderr).toBe(0);
  }, 60_000);
});
