/**
 * Every model and optimizer setting `llmts train` takes, in one table: its flag, where it goes
 * (the GPT's shape or the training loop), its type and bounds. The flags, `--config FILE` and the
 * trainer all read this table, nanoGPT-style: a preset, then the config file, then the flags.
 */
import { readFileSync } from 'node:fs';
import type { GPTConfig } from '../config.ts';
import type { TrainConfig } from '../presets.ts';

export interface Setting {
  /** The flag, without dashes. */
  flag: string;
  part: 'model' | 'train';
  key: string;
  type: 'int' | 'number' | 'boolean';
  help: string;
  min?: number;
  /** Exclusive upper bound. */
  below?: number;
  /** Other names a config file may use (nanoGPT's snake_case where it differs). */
  aliases?: readonly string[];
}

export const SETTINGS: readonly Setting[] = [
  { flag: 'n-layer', part: 'model', key: 'nLayer', type: 'int', min: 1, help: 'transformer blocks' },
  { flag: 'n-head', part: 'model', key: 'nHead', type: 'int', min: 1, help: 'attention heads per block' },
  { flag: 'n-embd', part: 'model', key: 'nEmbd', type: 'int', min: 1, help: 'width of the residual stream' },
  { flag: 'block-size', part: 'model', key: 'blockSize', type: 'int', min: 1, help: 'context length in tokens' },
  { flag: 'dropout', part: 'model', key: 'dropout', type: 'number', min: 0, below: 1, help: 'dropout probability while training' },
  { flag: 'bias', part: 'model', key: 'bias', type: 'boolean', help: 'biases in Linear layers and LayerNorms (--bias=false to drop them)' },
  { flag: 'batch-size', part: 'train', key: 'batchSize', type: 'int', min: 1, help: 'sequences per micro-batch' },
  { flag: 'grad-accum', part: 'train', key: 'gradAccumSteps', type: 'int', min: 1, help: 'micro-batches per optimizer step', aliases: ['gradient_accumulation_steps'] },
  { flag: 'max-iters', part: 'train', key: 'maxIters', type: 'int', min: 0, help: 'training iterations' },
  { flag: 'eval-interval', part: 'train', key: 'evalInterval', type: 'int', min: 1, help: 'estimate train/val loss every N iterations' },
  { flag: 'eval-iters', part: 'train', key: 'evalIters', type: 'int', min: 1, help: 'batches per split in each estimate' },
  { flag: 'log-interval', part: 'train', key: 'logInterval', type: 'int', min: 1, help: 'print the training loss every N iterations' },
  { flag: 'learning-rate', part: 'train', key: 'learningRate', type: 'number', min: 0, help: 'peak learning rate' },
  { flag: 'min-lr', part: 'train', key: 'minLr', type: 'number', min: 0, help: 'floor of the cosine schedule' },
  { flag: 'warmup-iters', part: 'train', key: 'warmupIters', type: 'int', min: 0, help: 'linear warm-up iterations' },
  { flag: 'lr-decay-iters', part: 'train', key: 'lrDecayIters', type: 'int', min: 0, help: 'iterations of cosine decay (default: --max-iters when that is given)' },
  { flag: 'decay-lr', part: 'train', key: 'decayLr', type: 'boolean', help: 'warm-up + cosine schedule (--decay-lr=false: constant learning rate)' },
  { flag: 'weight-decay', part: 'train', key: 'weightDecay', type: 'number', min: 0, help: 'AdamW weight decay (matrices only)' },
  { flag: 'beta1', part: 'train', key: 'beta1', type: 'number', min: 0, below: 1, help: 'AdamW beta1' },
  { flag: 'beta2', part: 'train', key: 'beta2', type: 'number', min: 0, below: 1, help: 'AdamW beta2' },
  { flag: 'grad-clip', part: 'train', key: 'gradClip', type: 'number', min: 0, help: 'clip the global gradient norm to this (0 = off)' },
  { flag: 'seed', part: 'train', key: 'seed', type: 'int', min: 0, help: 'random seed (data order, dropout, init)' },
];

/** Changes to a preset, split by where they go. */
export interface SettingsOverrides {
  model: Partial<Omit<GPTConfig, 'vocabSize'>>;
  train: Partial<TrainConfig>;
}

/** `nLayer`, `n_layer` and `n-layer` all name the same setting. */
const normalise = (name: string) => name.replace(/[-_]/g, '').toLowerCase();
const byName = new Map<string, Setting>();
for (const s of SETTINGS) for (const n of [s.flag, s.key, ...(s.aliases ?? [])]) byName.set(normalise(n), s);

/** Check one value against its setting; returns it, or throws naming `where`. */
export function checkSetting(s: Setting, value: unknown, where: string): number | boolean {
  if (s.type === 'boolean') {
    if (typeof value !== 'boolean') throw new Error(`${where}: ${s.flag} must be true or false, got ${JSON.stringify(value)}`);
    return value;
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`${where}: ${s.flag} must be a finite number, got ${JSON.stringify(value)}`);
  if (s.type === 'int' && !Number.isSafeInteger(value)) throw new Error(`${where}: ${s.flag} must be an integer, got ${value}`);
  if (s.min !== undefined && value < s.min) throw new Error(`${where}: ${s.flag} must be >= ${s.min}, got ${value}`);
  if (s.below !== undefined && value >= s.below) throw new Error(`${where}: ${s.flag} must be < ${s.below}, got ${value}`);
  return value;
}

function put(into: SettingsOverrides, s: Setting, value: number | boolean): void {
  (into[s.part] as Record<string, number | boolean>)[s.key] = value;
}

/**
 * Read a `--config` JSON file: an object of settings by flag name, camelCase key or nanoGPT's
 * snake_case name (`{"n_layer": 4, "learning_rate": 1e-3}`), optionally nested under "model" and
 * "train". Keys starting with "_" are notes and skipped. Unknown keys and bad values are errors
 * naming the file and the key.
 */
export function readConfigFile(path: string): SettingsOverrides {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`--config ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : `not valid JSON (${(e as Error).message})`}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`--config ${path}: expected a JSON object of settings`);
  const out: SettingsOverrides = { model: {}, train: {} };
  const visit = (obj: Record<string, unknown>, prefix: string) => {
    for (const [k, v] of Object.entries(obj)) {
      if (k.startsWith('_')) continue; // notes, such as what llmts tune measured
      if ((k === 'model' || k === 'train') && prefix === '' && v !== null && typeof v === 'object' && !Array.isArray(v)) {
        visit(v as Record<string, unknown>, `${k}.`);
        continue;
      }
      const s = byName.get(normalise(k));
      if (s === undefined) throw new Error(`--config ${path}: unknown setting '${prefix}${k}' (valid: ${SETTINGS.map((x) => x.flag).join(', ')})`);
      put(out, s, checkSetting(s, v, `--config ${path}: '${prefix}${k}'`));
    }
  };
  visit(raw as Record<string, unknown>, '');
  return out;
}

/** Settings from parsed flags (by flag name), on top of `base` (a config file's). */
export function settingsFromFlags(flags: Record<string, unknown>, base: SettingsOverrides = { model: {}, train: {} }): SettingsOverrides {
  const out: SettingsOverrides = { model: { ...base.model }, train: { ...base.train } };
  for (const s of SETTINGS) if (flags[s.flag] !== undefined) put(out, s, flags[s.flag] as number | boolean);
  // nanoGPT's habit: a shorter (or longer) run decays over its own length unless told otherwise
  if (out.train.maxIters !== undefined && out.train.lrDecayIters === undefined) out.train.lrDecayIters = out.train.maxIters;
  return out;
}
