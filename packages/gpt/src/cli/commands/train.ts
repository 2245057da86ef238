import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Device } from '@llmts/tensor';
import { commonFlags, type CommandSpec } from '../args.ts';
import { presets } from '../../presets.ts';
import { train } from '../../train/trainer.ts';

export const trainCommand: CommandSpec = {
  name: 'train',
  summary: 'train a GPT on a prepared corpus, with checkpoints, logs and a loss plot',
  usage: 'llmts train --preset NAME --data DIR --out DIR [--device gpu|cpu] [--max-iters N] [--eval-interval N] [--seed S] [--resume]',
  flags: [
    { name: 'preset', type: 'string', help: 'model and training setup', choices: Object.keys(presets), required: true },
    { name: 'data', type: 'string', help: 'a directory made by llmts prepare', required: true },
    { name: 'out', type: 'string', help: 'output directory (checkpoints best/ and last/, log.jsonl, loss.svg, loss.png)', required: true },
    commonFlags.device,
    { name: 'max-iters', type: 'int', help: 'training iterations', min: 0 },
    { name: 'eval-interval', type: 'int', help: 'estimate train/val loss every N iterations', min: 1 },
    { name: 'eval-iters', type: 'int', help: 'batches per split in each estimate', min: 1 },
    { name: 'batch-size', type: 'int', help: 'sequences per micro-batch', min: 1 },
    { name: 'grad-accum', type: 'int', help: 'micro-batches per optimizer step', min: 1 },
    { name: 'learning-rate', type: 'number', help: 'peak learning rate', min: 0 },
    { name: 'log-interval', type: 'int', help: 'print the training loss every N iterations', min: 1 },
    { name: 'seed', type: 'int', help: 'random seed (data order, dropout, init)' },
    { name: 'resume', type: 'boolean', help: 'continue the run saved in --out/last' },
  ],
  async run(a) {
    const data = String(a.data);
    if (!existsSync(join(data, 'meta.json'))) throw new Error(`train: --data ${data} is not a prepared corpus (no meta.json); run llmts prepare first`);
    const overrides: Record<string, number> = {};
    const map: Record<string, string> = { 'max-iters': 'maxIters', 'eval-interval': 'evalInterval', 'eval-iters': 'evalIters', 'batch-size': 'batchSize', 'grad-accum': 'gradAccumSteps', 'learning-rate': 'learningRate', 'log-interval': 'logInterval', seed: 'seed' };
    for (const [flag, key] of Object.entries(map)) if (a[flag] !== undefined) overrides[key] = Number(a[flag]);
    if (overrides.maxIters !== undefined && a['max-iters'] !== undefined && overrides.lrDecayIters === undefined) overrides.lrDecayIters = overrides.maxIters;
    const result = await train({
      preset: String(a.preset),
      dataDir: data,
      outDir: String(a.out),
      device: a.device as Device | undefined,
      resume: a.resume === true,
      train: overrides,
    });
    process.stderr.write(`train: ${result.iters} iterations in ${result.seconds.toFixed(1)} s (${result.msPerIter.toFixed(1)} ms/iter); final train ${result.finalTrain.toFixed(4)}, val ${result.finalVal.toFixed(4)}, best val ${result.bestVal.toFixed(4)} -> ${result.outDir}\n`);
    return 0;
  },
};
