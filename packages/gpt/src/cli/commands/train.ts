import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Device } from '@llmts/tensor';
import { commonFlags, type CommandSpec, type FlagSpec } from '../args.ts';
import { presets } from '../../presets.ts';
import { train } from '../../train/trainer.ts';
import { SETTINGS, readConfigFile, settingsFromFlags, type Setting } from '../../train/settings.ts';
import { loraFlags, loraFromFlags } from '../lora.ts';

/** The command-line flag of one model or optimizer setting. */
export function settingFlag(s: Setting): FlagSpec {
  return {
    name: s.flag,
    type: s.type,
    help: s.help,
    ...(s.min !== undefined ? { min: s.min } : {}),
    ...(s.below !== undefined ? { below: s.below } : {}),
  };
}

/** One flag per model or optimizer setting, from the settings table. */
const settingFlags: FlagSpec[] = SETTINGS.map(settingFlag);

export const trainCommand: CommandSpec = {
  name: 'train',
  summary: 'train a GPT on a prepared corpus, with checkpoints, logs and a loss plot',
  usage: 'llmts train --preset NAME --data DIR --out DIR [--config FILE.json] [--init-from CHECKPOINT [--lora-rank R]] [--n-layer N --n-embd N … any setting] [--device gpu|cpu] [--resume | --force]',
  flags: [
    { name: 'preset', type: 'string', help: 'model and training setup to start from', choices: Object.keys(presets), required: true },
    { name: 'data', type: 'string', help: 'a directory made by llmts prepare', required: true },
    { name: 'out', type: 'string', help: 'output directory (checkpoints best/ and last/, log.jsonl, loss.svg, loss.png)', required: true },
    { name: 'config', type: 'string', help: 'a JSON file of settings applied on top of the preset (flag names, camelCase or nanoGPT snake_case keys); flags override it' },
    { name: 'init-from', type: 'string', help: 'start from this checkpoint\'s weights (one made here, or a Hugging Face GPT-2 directory); its architecture is kept' },
    commonFlags.device,
    ...settingFlags,
    ...loraFlags,
    { name: 'resume', type: 'boolean', help: 'continue the run saved in --out/last' },
    { name: 'force', type: 'boolean', help: 'start a new run in an --out that already holds one, replacing it' },
    { name: 'capture-graph', type: 'boolean', help: 'on the GPU, replay a captured step after the first two instead of running every step op by op (default true; the same results, less host time)' },
  ],
  async run(a) {
    const data = String(a.data);
    if (!existsSync(join(data, 'meta.json'))) throw new Error(`train: --data ${data} is not a prepared corpus (no meta.json); run llmts prepare first`);
    if (a.resume === true && a.force === true) throw new Error('train: --resume continues the run in --out and --force replaces it; give one');
    if (a.resume === true && a['init-from'] !== undefined) throw new Error('train: --resume continues the run in --out from its own weights; --init-from starts a new one');
    const fromFile = a.config !== undefined ? readConfigFile(String(a.config)) : undefined;
    const settings = settingsFromFlags(a, fromFile);
    const lora = loraFromFlags(a, 'train');
    if (lora && a['init-from'] === undefined && a.resume !== true) throw new Error('train: --lora-rank adapts a pretrained model; give it with --init-from CHECKPOINT');
    const result = await train({
      preset: String(a.preset),
      dataDir: data,
      outDir: String(a.out),
      device: a.device as Device | undefined,
      resume: a.resume === true,
      force: a.force === true,
      captureGraph: a['capture-graph'] !== false,
      ...(a['init-from'] !== undefined ? { initFrom: String(a['init-from']) } : {}),
      ...(lora ? { lora } : {}),
      train: settings.train,
      model: settings.model,
    });
    process.stderr.write(`train: ${result.iters} iterations in ${result.seconds.toFixed(1)} s (${result.msPerIter.toFixed(1)} ms/iter); final train ${result.finalTrain.toFixed(4)}, val ${result.finalVal.toFixed(4)}, best val ${result.bestVal.toFixed(4)} -> ${result.outDir}\n`);
    return 0;
  },
};
