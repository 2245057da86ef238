/**
 * `llmts tune`: find training settings that suit this device within a time budget, the way the
 * freeCodeCamp course sizes its runs to the hardware. First the batch size: the largest that fits
 * the device's memory and still leaves every search trial enough steps, among those within 10% of
 * the best throughput measured. Then the learning rate (five values around the preset's) and the
 * warm-up (none, 10%, 25% of a trial) with short runs from the same seed, compared by validation
 * loss. Trials step once per batch (no gradient accumulation). The winner is written as a
 * `--config` file for `llmts train`.
 */
import { totalmem } from 'node:os';
import { getDefaultDevice, getRngState, hasBackend, manualSeed, memoryStats, noGrad, tidy, type Device, type Tensor } from '@llmts/tensor';
import { getBackend, initWebGPU, webgpuBackend, writeFileAtomic } from '@llmts/tensor/internal';
import { AdamW, warmupCosine } from '@llmts/nn';
import { TokenDataset } from '@llmts/data';
import { formatCount, formatDuration } from '@llmts/data/internal';
import { GPT } from '../model.ts';
import { makeConfig, type GPTConfig } from '../config.ts';
import { getPreset, type Preset, type TrainConfig } from '../presets.ts';
import { estimateTrainingMemory, largestBatchSize } from './memory.ts';
import { TrainStepper } from './stepper.ts';

/** Options of `tune`. */
export interface TuneOptions {
  preset: string | Preset;
  dataDir: string;
  /** Wall-clock seconds the whole search may take. */
  budgetSeconds: number;
  device?: Device;
  /** Changes to the preset's model and training settings (as `train` takes them). */
  model?: Omit<Partial<GPTConfig>, 'vocabSize'>;
  train?: Partial<TrainConfig>;
  /** Write the best settings here as a `--config` JSON file. */
  out?: string;
  /** Called after every trial. */
  onTrial?: (t: Trial) => void;
}

/** One measured run. */
export interface Trial {
  trial: number;
  phase: 'batch' | 'learning-rate' | 'warmup';
  batchSize: number;
  learningRate: number;
  warmupIters: number;
  steps: number;
  msPerStep: number;
  tokensPerSec: number;
  /** Validation loss after the run (null for throughput trials; Infinity when it diverged). */
  valLoss: number | null;
  seconds: number;
}

/** What `tune` found. */
export interface TuneResult {
  best: { batchSize: number; learningRate: number; minLr: number; warmupIters: number; valLoss: number };
  /** The largest batch size the memory estimate allows. */
  memoryBatchLimit: number;
  /** Steps each learning-rate / warm-up trial ran. */
  trialSteps: number;
  trials: Trial[];
  seconds: number;
  device: Device;
  preset: string;
}

/** "10m", "90s", "1h30m", "1.5h" or plain seconds -> seconds. */
export function parseBudget(text: string): number {
  const t = text.trim().toLowerCase();
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t);
  const re = /(\d+(?:\.\d+)?)\s*(h|m|s)/g;
  let total = 0;
  let matched = '';
  for (const m of t.matchAll(re)) {
    total += Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1);
    matched += m[0];
  }
  if (matched.replace(/\s/g, '') !== t.replace(/\s/g, '') || total <= 0) throw new Error(`--budget: expected a duration such as 10m, 90s or 1h30m, got '${text}'`);
  return total;
}

const GiB = 2 ** 30;

/** Bytes a training step may use on `device` (the same rule `train` refuses by). */
function memoryBudget(device: Device): number {
  if (device === 'cpu') {
    const stats = memoryStats('cpu');
    const heap = stats.heapLimitBytes ? 0.88 * stats.heapLimitBytes - stats.liveBytes : Infinity;
    return Math.min(heap, totalmem() * 0.8);
  }
  return Infinity;
}

/** The largest batch size that fits: the memory estimate, and on the GPU its largest buffer. */
function batchLimit(config: GPTConfig, device: Device): number {
  let limit = largestBatchSize(config, memoryBudget(device));
  if (device === 'gpu') {
    const maxTensor = webgpuBackend()?.maxTensorBytes ?? Infinity;
    limit = Math.min(limit, 4096);
    while (limit > 0 && estimateTrainingMemory(config, limit).largestTensorBytes > maxTensor) limit = Math.floor(limit / 2);
  }
  return Math.min(limit, 4096);
}

interface RunResult {
  steps: number;
  msPerStep: number;
  valLoss: number | null;
  seconds: number;
}

/**
 * Train a fresh model (seeded) for `steps` steps, or until `maxSeconds`, and optionally estimate the
 * validation loss. Everything it makes is freed.
 */
async function shortRun(config: GPTConfig, ds: TokenDataset, device: Device, tc: TrainConfig, o: { batchSize: number; learningRate: number; warmupIters: number; steps: number; maxSeconds?: number; evalBatches: number; skipTiming?: number }): Promise<RunResult> {
  const start = Date.now();
  manualSeed(tc.seed);
  const model = new GPT(config, { device });
  const optimizer = new AdamW(model.optimizerGroups(tc.weightDecay), { lr: o.learningRate, betas: [tc.beta1, tc.beta2], eps: 1e-8 });
  const lrAt = warmupCosine({ maxLr: o.learningRate, minLr: o.learningRate / 10, warmupIters: o.warmupIters, decayIters: Math.max(o.steps, o.warmupIters) });
  // the steps llmts train takes (replayed on the GPU), so the timings are train's
  const stepper = new TrainStepper(model, optimizer, { gradClip: tc.gradClip });
  try {
    model.train();
    let timedFrom = Date.now();
    let timed = 0;
    let steps = 0;
    let finite = true;
    for (; steps < o.steps; steps++) {
      if (steps === (o.skipTiming ?? 0)) {
        await getBackend(device).sync();
        timedFrom = Date.now();
      }
      optimizer.setLr(lrAt(steps));
      const loss: Tensor = stepper.step(() => ds.getBatch('train', o.batchSize, config.blockSize, { device }));
      if (steps % 10 === 9 || steps === o.steps - 1) {
        finite = Number.isFinite(await loss.item());
        stepper.release(loss);
        if (!finite) { steps++; break; }
        if (o.maxSeconds !== undefined && (Date.now() - start) / 1000 > o.maxSeconds) { steps++; break; }
      } else stepper.release(loss);
      if (steps >= (o.skipTiming ?? 0)) timed++;
    }
    await getBackend(device).sync();
    const msPerStep = timed > 0 ? (Date.now() - timedFrom) / timed : NaN;
    let valLoss: number | null = null;
    if (o.evalBatches > 0) {
      if (!finite) valLoss = Infinity;
      else {
        model.eval();
        let total: Tensor | null = null;
        for (let k = 0; k < o.evalBatches; k++) {
          const next: Tensor = tidy(() => noGrad(() => {
            const { x, y } = ds.getBatch('val', o.batchSize, config.blockSize, { device });
            const l = model.forward(x, y).loss!;
            return total === null ? l : total.add(l);
          }));
          total?.dispose();
          total = next;
        }
        valLoss = (await total!.item()) / o.evalBatches;
        total!.dispose();
        if (!Number.isFinite(valLoss)) valLoss = Infinity;
      }
    }
    return { steps, msPerStep, valLoss, seconds: (Date.now() - start) / 1000 };
  } finally {
    stepper.dispose();
    optimizer.dispose();
    model.dispose();
  }
}

/**
 * Search batch size, learning rate and warm-up for a preset on this device within a budget.
 * @example const r = await tune({ preset: 'shakespeare-char-cpu', dataDir: 'runs/data', budgetSeconds: 600, out: 'tuned.json' });
 */
export async function tune(o: TuneOptions): Promise<TuneResult> {
  const preset = typeof o.preset === 'string' ? getPreset(o.preset) : o.preset;
  if (!(o.budgetSeconds > 0)) throw new Error(`tune: the budget must be positive, got ${o.budgetSeconds} s`);
  const device = o.device ?? getDefaultDevice();
  if (device === 'gpu' && !hasBackend('gpu')) await initWebGPU();
  const ds = TokenDataset.open(o.dataDir);
  const rng = getRngState();
  try {
    return await search(o, preset, device, ds);
  } finally {
    ds.close();
    manualSeed(rng.seed);
  }
}

async function search(o: TuneOptions, preset: Preset, device: Device, ds: TokenDataset): Promise<TuneResult> {
  const start = Date.now();
  const elapsed = () => (Date.now() - start) / 1000;
  const tc: TrainConfig = { ...preset.train, ...(o.train ?? {}) };
  const config = makeConfig({ ...preset.model, ...(o.model ?? {}), vocabSize: ds.vocabSize });
  const limit = batchLimit(config, device);
  if (limit < 1) throw new Error(`tune: even --batch-size 1 does not fit this device's memory (about ${(estimateTrainingMemory(config, 1).bytes / GiB).toFixed(2)} GiB a step); lower --block-size or the model's size`);
  const trials: Trial[] = [];
  const record = (t: Omit<Trial, 'trial'>) => {
    const full = { trial: trials.length + 1, ...t };
    trials.push(full);
    o.onTrial?.(full);
    return full;
  };
  const searchTrials = 7; // five learning rates, two more warm-ups
  const evalBatches = Math.max(1, Math.min(tc.evalIters, 20));
  const MIN_STEPS = 20;

  // 1. batch size: throughput of powers of two up to the memory limit (at most 15% of the budget)
  const candidates = [...new Set([...Array.from({ length: 13 }, (_, i) => 2 ** i), tc.batchSize])].filter((b) => b <= limit).sort((a, b) => a - b);
  const throughputBudget = 0.15 * o.budgetSeconds;
  const measured: { batchSize: number; tokensPerSec: number; msPerStep: number }[] = [];
  for (const batchSize of candidates) {
    if (elapsed() > throughputBudget && measured.length > 0) break;
    const r = await shortRun(config, ds, device, tc, { batchSize, learningRate: tc.learningRate, warmupIters: 0, steps: 4, skipTiming: 1, evalBatches: 0, maxSeconds: throughputBudget / 3 });
    const tokensPerSec = (batchSize * config.blockSize * 1000) / r.msPerStep;
    record({ phase: 'batch', batchSize, learningRate: tc.learningRate, warmupIters: 0, steps: r.steps, msPerStep: r.msPerStep, tokensPerSec, valLoss: null, seconds: r.seconds });
    measured.push({ batchSize, tokensPerSec, msPerStep: r.msPerStep });
    // a trial must afford MIN_STEPS steps of this size; bigger batches only get slower
    const trialSeconds = (o.budgetSeconds - throughputBudget) / searchTrials;
    if ((r.msPerStep / 1000) * (MIN_STEPS + evalBatches / 3) > trialSeconds) break;
    const best = Math.max(...measured.map((m) => m.tokensPerSec));
    if (measured.length >= 3 && measured.slice(-2).every((m) => m.tokensPerSec < 0.9 * best)) break; // past the throughput peak
  }
  const trialSeconds = Math.max(0, (o.budgetSeconds - elapsed()) / searchTrials);
  const bestRate = Math.max(...measured.map((m) => m.tokensPerSec));
  const affordable = measured.filter((m) => (m.msPerStep / 1000) * (MIN_STEPS + evalBatches / 3) <= trialSeconds && m.tokensPerSec >= 0.9 * bestRate);
  const chosen = (affordable.length > 0 ? affordable : [measured[0]!]).reduce((a, b) => (b.batchSize > a.batchSize ? b : a));
  const batchSize = chosen.batchSize;
  // steps per trial: the trial's time, less the validation estimate (about a third of a step per batch)
  const steps = Math.max(MIN_STEPS, Math.floor((trialSeconds * 1000) / chosen.msPerStep - evalBatches / 3));

  // 2. learning rate around the preset's, warm-up 10%
  const run = async (phase: Trial['phase'], learningRate: number, warmupIters: number) => {
    const r = await shortRun(config, ds, device, tc, { batchSize, learningRate, warmupIters, steps, evalBatches, maxSeconds: trialSeconds * 1.5 });
    return record({ phase, batchSize, learningRate, warmupIters, steps: r.steps, msPerStep: r.msPerStep, tokensPerSec: (batchSize * config.blockSize * 1000) / r.msPerStep, valLoss: r.valLoss, seconds: r.seconds });
  };
  const warm = Math.round(0.1 * steps);
  const lrTrials: Trial[] = [];
  for (const f of [0.25, 0.5, 1, 2, 4]) lrTrials.push(await run('learning-rate', tc.learningRate * f, warm));
  const bestLr = lrTrials.reduce((a, b) => ((b.valLoss ?? Infinity) < (a.valLoss ?? Infinity) ? b : a));
  // 3. warm-up at that learning rate
  const warmTrials = [bestLr];
  for (const w of [0, Math.round(0.25 * steps)]) warmTrials.push(await run('warmup', bestLr.learningRate, w));
  const best = warmTrials.reduce((a, b) => ((b.valLoss ?? Infinity) < (a.valLoss ?? Infinity) ? b : a));
  if (!Number.isFinite(best.valLoss ?? Infinity)) throw new Error('tune: every trial diverged; lower the preset\'s learning rate or the model size');
  const result: TuneResult = {
    best: { batchSize, learningRate: best.learningRate, minLr: Number((best.learningRate / 10).toPrecision(6)), warmupIters: best.warmupIters, valLoss: best.valLoss! },
    memoryBatchLimit: limit, trialSteps: steps, trials, seconds: elapsed(), device, preset: preset.name,
  };
  if (o.out) writeTunedConfig(o.out, result);
  return result;
}

/** The best settings as a `--config` file; the search itself is kept under "_tune" (ignored by train). */
export function writeTunedConfig(path: string, r: TuneResult): void {
  const config = {
    batch_size: r.best.batchSize,
    // the trials step once per batch; a preset's accumulation would multiply the batch they measured
    grad_accum: 1,
    learning_rate: r.best.learningRate,
    min_lr: Number(r.best.minLr.toPrecision(6)),
    warmup_iters: r.best.warmupIters,
    _tune: { preset: r.preset, device: r.device, seconds: Math.round(r.seconds), memoryBatchLimit: r.memoryBatchLimit, trialSteps: r.trialSteps, valLoss: r.best.valLoss, trials: r.trials },
  };
  writeFileAtomic(path, `${JSON.stringify(config, null, 2)}\n`);
}

/** The trials as an aligned table. */
export function trialTable(trials: readonly Trial[]): string {
  const head = ['trial', 'phase', 'batch', 'lr', 'warmup', 'steps', 'ms/step', 'tok/s', 'val loss'];
  const rows = trials.map((t) => [String(t.trial), t.phase, String(t.batchSize), t.phase === 'batch' ? '-' : t.learningRate.toExponential(2), t.phase === 'batch' ? '-' : String(t.warmupIters), String(t.steps), t.msPerStep.toFixed(1), formatCount(t.tokensPerSec), t.valLoss === null ? '-' : Number.isFinite(t.valLoss) ? t.valLoss.toFixed(4) : 'diverged']);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [head, ...rows].map((r) => r.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')).join('\n');
}

/** One line for the end of a search. */
export function tuneSummary(r: TuneResult, path?: string): string {
  return `tune: best batch ${r.best.batchSize} (memory allows ${r.memoryBatchLimit}), learning rate ${r.best.learningRate.toExponential(2)}, warm-up ${r.best.warmupIters} of ${r.trialSteps} steps: val loss ${r.best.valLoss.toFixed(4)} after ${formatDuration(r.seconds)}${path ? ` -> ${path}` : ''}`;
}
