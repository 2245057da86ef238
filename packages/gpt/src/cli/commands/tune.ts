import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Device } from '@llmts/tensor';
import { commonFlags, type CommandSpec, type FlagSpec } from '../args.ts';
import { presets } from '../../presets.ts';
import { SETTINGS, readConfigFile, settingsFromFlags } from '../../train/settings.ts';
import { settingFlag } from './train.ts';
import { parseBudget, trialTable, tune, tuneSummary } from '../../train/tune.ts';

/** The model-shape flags of train (the search keeps the model; it tunes how it trains). */
const modelFlags: FlagSpec[] = SETTINGS.filter((s) => s.part === 'model' || ['seed', 'weight-decay', 'grad-clip', 'beta1', 'beta2', 'eval-iters'].includes(s.flag)).map(settingFlag);

export const tuneCommand: CommandSpec = {
  name: 'tune',
  summary: 'search batch size, learning rate and warm-up for this device within a time budget; writes a --config file for train',
  usage: 'llmts tune --preset NAME --data DIR --budget 10m [--out tune.json] [--n-layer N … model settings] [--device gpu|cpu]',
  flags: [
    { name: 'preset', type: 'string', help: 'the model and training setup to tune', choices: Object.keys(presets), required: true },
    { name: 'data', type: 'string', help: 'a directory made by llmts prepare', required: true },
    { name: 'budget', type: 'string', help: 'wall-clock time for the whole search, e.g. 90s, 10m, 1h30m', required: true },
    { name: 'out', type: 'string', help: 'where to write the best settings (a --config file for llmts train)', default: 'tune.json' },
    { name: 'config', type: 'string', help: 'a --config file of settings to start from' },
    commonFlags.device,
    ...modelFlags,
    { name: 'json', type: 'boolean', help: 'print the result (best settings and every trial) as JSON on stdout' },
  ],
  async run(a) {
    const budgetSeconds = parseBudget(String(a.budget));
    const data = String(a.data);
    if (!existsSync(join(data, 'meta.json'))) throw new Error(`tune: --data ${data} is not a prepared corpus (no meta.json); run llmts prepare first`);
    const settings = settingsFromFlags(a, a.config !== undefined ? readConfigFile(String(a.config)) : undefined);
    process.stderr.write(`tune: ${String(a.preset)} for ${budgetSeconds} s on ${(a.device as string | undefined) ?? 'the default device'}\n`);
    const r = await tune({
      preset: String(a.preset), dataDir: data, budgetSeconds, device: a.device as Device | undefined, model: settings.model, train: settings.train, out: String(a.out),
      onTrial: (t) => process.stderr.write(`tune: trial ${t.trial} (${t.phase}): batch ${t.batchSize}${t.phase === 'batch' ? '' : `, lr ${t.learningRate.toExponential(2)}, warm-up ${t.warmupIters}`}: ${t.msPerStep.toFixed(1)} ms/step${t.valLoss === null ? '' : `, val loss ${Number.isFinite(t.valLoss) ? t.valLoss.toFixed(4) : 'diverged'}`}\n`),
    });
    if (a.json) process.stdout.write(`${JSON.stringify(r)}\n`);
    else process.stdout.write(`${trialTable(r.trials)}\n`);
    process.stderr.write(`${tuneSummary(r, String(a.out))}\nrun it: llmts train --preset ${String(a.preset)} --data ${data} --config ${String(a.out)} --out DIR\n`);
    return 0;
  },
};
