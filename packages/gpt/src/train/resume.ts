/**
 * What `train --resume` reads back from `last/state.json`, checked field by field: a tampered or
 * foreign state is refused with the reason instead of silently continuing a different run.
 */
import type { CorpusMeta } from '@llmts/data';
import type { TrainConfig } from '../presets.ts';
import { SETTINGS, checkSetting } from './settings.ts';
import type { LogEntry } from './trainer.ts';

/** The corpus a run trains on, as recorded in its checkpoints. */
export interface CorpusFingerprint {
  vocabSize: number;
  trainTokens: number;
  valTokens: number;
  /** The tokenizer as meta.json holds it, serialised. */
  tokenizer: string;
}

export function corpusFingerprint(meta: CorpusMeta): CorpusFingerprint {
  return { vocabSize: meta.vocabSize, trainTokens: meta.trainTokens, valTokens: meta.valTokens, tokenizer: JSON.stringify(meta.tokenizer) };
}

export interface SavedRun {
  iter: number;
  bestVal: number;
  rng: { seed: number; draws: number };
  trainedSeconds: number;
  history: LogEntry[];
  train: TrainConfig;
  corpus: CorpusFingerprint | null;
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Validate a state.json for resuming; `file` names it in every error. */
export function readSavedRun(raw: Record<string, unknown>, file: string): SavedRun {
  const bad = (key: string, want: string) => new Error(`train --resume: ${file}: '${key}' must be ${want}, got ${JSON.stringify(raw[key])}`);
  if (!isCount(raw.iter)) throw bad('iter', 'a non-negative integer');
  // JSON has no Infinity: a run that never improved on it stores null
  const bestVal = raw.bestVal === null ? Infinity : raw.bestVal;
  if (typeof bestVal !== 'number' || Number.isNaN(bestVal) || bestVal < 0) throw bad('bestVal', 'a non-negative number (or null)');
  const rng = raw.rng as { seed?: unknown; draws?: unknown } | undefined;
  if (rng === null || typeof rng !== 'object' || !isCount(rng.seed) || rng.seed > 0xffffffff || !isCount(rng.draws)) throw bad('rng', '{ "seed": uint32, "draws": non-negative integer }');
  const trainedSeconds = raw.trainedSeconds ?? 0;
  if (typeof trainedSeconds !== 'number' || !(trainedSeconds >= 0) || !Number.isFinite(trainedSeconds)) throw bad('trainedSeconds', 'a non-negative number');
  const history = raw.history ?? [];
  if (!Array.isArray(history) || history.some((e) => e === null || typeof e !== 'object' || ((e as LogEntry).type !== 'train' && (e as LogEntry).type !== 'eval'))) {
    throw bad('history', 'an array of log entries');
  }
  const train = raw.train as Record<string, unknown> | undefined;
  if (train === null || typeof train !== 'object') throw bad('train', 'the training settings object');
  for (const s of SETTINGS.filter((x) => x.part === 'train')) {
    if (!(s.key in train)) throw new Error(`train --resume: ${file}: 'train.${s.key}' is missing`);
    checkSetting(s, train[s.key], `train --resume: ${file}: 'train.${s.key}'`);
  }
  if (typeof train.alwaysSaveCheckpoint !== 'boolean') throw new Error(`train --resume: ${file}: 'train.alwaysSaveCheckpoint' must be true or false`);
  const corpus = (raw.corpus ?? null) as CorpusFingerprint | null;
  return { iter: raw.iter, bestVal, rng: { seed: rng.seed, draws: rng.draws }, trainedSeconds, history: history as LogEntry[], train: train as unknown as TrainConfig, corpus };
}

/** Refuse to resume on another corpus than the run's. */
export function checkSameCorpus(saved: CorpusFingerprint | null, now: CorpusFingerprint, dataDir: string): void {
  if (saved === null) return;
  const differs = (Object.keys(now) as (keyof CorpusFingerprint)[]).filter((k) => saved[k] !== now[k]);
  if (differs.length > 0) {
    throw new Error(`train --resume: --data ${dataDir} is not the corpus this run was trained on (${differs.map((k) => (k === 'tokenizer' ? 'its tokenizer differs' : `${k} ${saved[k]} then, ${now[k]} now`)).join('; ')})`);
  }
}
