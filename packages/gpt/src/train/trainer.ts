/**
 * The training loop of nanoGPT's train.py: AdamW with decay only on matrices, warmup + cosine LR,
 * gradient accumulation and clipping, periodic train/val estimates in eval mode, checkpoints on the
 * best val loss (best/) and for resuming (last/), JSON-lines logs, a live progress line, and loss
 * plots. All randomness (batches, dropout) comes from one seeded generator whose state is saved,
 * so `resume` continues the very same run.
 */
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { totalmem } from 'node:os';
import { getDefaultDevice, hasBackend, memoryStats, getRngState, manualSeed, setRngState, type Device } from '@llmts/tensor';
import { getBackend, initWebGPU, webgpuBackend } from '@llmts/tensor/internal';
import { AdamW, loadCheckpoint, readJsonFile, resolveCheckpointDir, warmupCosine } from '@llmts/nn';
import { TokenDataset, toHuggingFace, type Tokenizer } from '@llmts/data';
import { ProgressLine, formatCount, formatDuration } from '@llmts/data/internal';
import { GPT } from '../model.ts';
import { checkpointTokenizer, resolveModelDir, vocabularyCovers } from '../checkpoint.ts';
import { makeConfig, type GPTConfig } from '../config.ts';
import { fromHFConfig, isLegacyConfig } from '../hf/config.ts';
import { loadHFWeights } from '../hf/load-weights.ts';
import { saveGPT } from '../hf/export.ts';
import { addLoRA, isAdapterDir, loadAdapter, readAdapterConfig, type LoRASettings } from '../finetune/lora.ts';
import { trainableSummary } from '../finetune/common.ts';
import { estimateTrainingMemory, largestBatchSize } from './memory.ts';
import { getPreset, type Preset, type TrainConfig } from '../presets.ts';
import { plotSvg, type Series } from './plot.ts';
import { plotPng } from './plot-png.ts';
import { TrainStepper } from './stepper.ts';
import { meanLosses } from './estimate.ts';
import { claimOutDir } from './run-dir.ts';
import { checkSameCorpus, corpusFingerprint, readSavedRun, type CorpusFingerprint } from './resume.ts';

export interface TrainOptions {
  preset: string | Preset;
  dataDir: string;
  outDir: string;
  /** Changes to the preset's training settings (maxIters, evalInterval, seed, …). */
  train?: Partial<TrainConfig>;
  /** Changes to the preset's model shape. */
  model?: Omit<Partial<GPTConfig>, 'vocabSize'>;
  device?: Device;
  /** Continue from outDir/last (model, optimizer, iteration, RNG state). */
  resume?: boolean;
  /** Start afresh in an outDir that already holds a run, replacing it (otherwise that is an error). */
  force?: boolean;
  /**
   * Start from the weights of a checkpoint (this project's or a Hugging Face GPT-2 directory), as
   * nanoGPT's init_from: its architecture is kept; dropout and a shorter block size may change.
   */
  initFrom?: string;
  /**
   * Train LoRA adapters on the `initFrom` model instead of its weights: the base stays frozen and
   * best/ and last/ hold only the adapters (a PEFT adapter directory pointing at the base).
   */
  lora?: LoRASettings;
  /** Draw the progress line on stderr (default true). */
  progress?: boolean;
  /**
   * On the GPU, replay a captured step after the first two (`captureGraph`): the same kernels
   * without the host work of running the ops again (default true; false runs every step op by op).
   */
  captureGraph?: boolean;
  /** Called with every log entry (also written to outDir/log.jsonl). */
  onLog?: (entry: LogEntry) => void;
}

export type LogEntry =
  | { type: 'train'; iter: number; loss: number; lr: number; msPerIter: number; tokensPerSec: number; elapsed: number }
  | { type: 'eval'; iter: number; train: number; val: number; elapsed: number };

export interface TrainResult {
  iters: number;
  bestVal: number;
  finalTrain: number;
  finalVal: number;
  /** Mean milliseconds per training iteration (evaluations excluded). */
  msPerIter: number;
  tokensPerSec: number;
  seconds: number;
  outDir: string;
  model: GPT;
  /** Dispatches of the captured step each later step replayed (`captureGraph` on the GPU); 0 when every step ran op by op. */
  replayedDispatches: number;
}

interface RunState {
  iter: number;
  bestVal: number;
  rng: { seed: number; draws: number };
  trainedSeconds: number;
  history: LogEntry[];
}

/** Mean loss over `iters` batches of each split, in eval mode without gradients. */
export async function estimateLoss(model: GPT, ds: TokenDataset, o: { batchSize: number; iters: number; device: Device }): Promise<{ train: number; val: number }> {
  const out = await meanLosses(model, (split) => ds.getBatch(split, o.batchSize, model.config.blockSize, { device: o.device }), o.iters);
  return { train: out.train!, val: out.val! };
}

/** Write loss.svg and loss.png of a run's log entries into `outDir`. */
export function writePlots(outDir: string, history: readonly LogEntry[], title: string): void {
  const train = history.filter((e) => e.type === 'train') as Extract<LogEntry, { type: 'train' }>[];
  const evals = history.filter((e) => e.type === 'eval') as Extract<LogEntry, { type: 'eval' }>[];
  const series: Series[] = [
    { label: 'train (batch)', color: '#9ecae1', points: train.map((e) => [e.iter, e.loss]) },
    { label: 'train (eval)', color: '#1f77b4', points: evals.map((e) => [e.iter, e.train]), markers: true },
    { label: 'val (eval)', color: '#d62728', points: evals.map((e) => [e.iter, e.val]), markers: true },
  ];
  writeFileSync(join(outDir, 'loss.svg'), plotSvg(series, { title, xLabel: 'iteration', yLabel: 'cross-entropy loss' }));
  writeFileSync(join(outDir, 'loss.png'), plotPng(series));
}

const GiB = 2 ** 30;
const gib = (bytes: number) => `${(bytes / GiB).toFixed(bytes < GiB ? 2 : 1)} GiB`;

/**
 * Refuse a configuration whose step cannot fit: on the CPU the WebAssembly heap (4 GiB, less what
 * is live) and the machine's memory; on the GPU the largest tensor its storage bindings hold.
 */
function checkMemory(config: GPTConfig, batchSize: number, device: Device): void {
  const est = estimateTrainingMemory(config, batchSize);
  const advice = (budget: number) => {
    const fits = largestBatchSize(config, budget);
    return fits > 0 ? `lower --batch-size (about ${fits} fits) or --block-size` : 'even --batch-size 1 does not fit: lower --block-size, or train a smaller model (--n-layer, --n-embd)';
  };
  if (device === 'cpu') {
    const stats = memoryStats('cpu');
    // the heap hands out blocks in size classes (up to 1/8 over the request) and never shrinks
    const heap = stats.heapLimitBytes ? 0.88 * stats.heapLimitBytes - stats.liveBytes : Infinity;
    const budget = Math.min(heap, totalmem() * 0.8);
    if (est.bytes > budget) {
      throw new Error(`train: a step at --batch-size ${batchSize} needs about ${gib(est.bytes)} (weights, gradients and AdamW ${gib(est.stateBytes)}, activations ${gib(est.activationBytes)}), more than the ${gib(budget)} the CPU backend can use; ${advice(budget)}`);
    }
    return;
  }
  const maxTensor = webgpuBackend()?.maxTensorBytes ?? Infinity;
  if (est.largestTensorBytes > maxTensor) {
    throw new Error(`train: at --batch-size ${batchSize} one tensor of a step (logits or attention scores) takes ${gib(est.largestTensorBytes)}, more than this GPU's largest buffer of ${gib(maxTensor)}; lower --batch-size or --block-size`);
  }
}

/**
 * The model of a run started from a checkpoint: its architecture, with the run's dropout and at
 * most its block size; its tokenizer must be the corpus' (the ids have to mean the same tokens).
 */
function initialConfig(dir: string, preset: Preset, o: TrainOptions, ds: TokenDataset): Partial<GPTConfig> {
  const file = join(dir, 'config.json');
  const raw = readJsonFile(file);
  const base = fromHFConfig(raw, file);
  const tokenizer = checkpointTokenizer(dir, base.vocabSize, raw);
  const spell = (t: Tokenizer) => JSON.stringify(toHuggingFace(t) ?? t.toJSON());
  if (spell(tokenizer) !== spell(ds.tokenizer)) throw new Error(`train --init-from: ${dir} uses another tokenizer than --data ${o.dataDir} (prepare the corpus with the checkpoint's tokenizer: llmts prepare --tokenizer ${tokenizer.kind === 'gpt2' ? 'gpt2' : join(dir, 'tokenizer.json')})`);
  const { dropout, blockSize, ...rest } = o.model ?? {};
  for (const [key, value] of Object.entries(rest)) {
    if ((base as unknown as Record<string, unknown>)[key] !== value) throw new Error(`train --init-from: the checkpoint's model has ${key} ${JSON.stringify((base as unknown as Record<string, unknown>)[key])}, which a run started from it keeps`);
  }
  if (blockSize !== undefined && blockSize > base.blockSize) throw new Error(`train --init-from: --block-size ${blockSize} is longer than the checkpoint's context of ${base.blockSize}`);
  return { ...base, dropout: dropout ?? preset.model.dropout ?? base.dropout, blockSize: blockSize ?? base.blockSize };
}

/** A LoRA run: its settings and the base checkpoint the adapters belong to. */
interface LoraRun {
  settings: LoRASettings;
  base: string;
}

/** Put a saved LoRA run back together: the base's weights, then the adapters from `dir`. */
function resumeAdapters(model: GPT, dir: string, saved: Record<string, unknown>, asked: LoRASettings | undefined): LoraRun {
  const ac = readAdapterConfig(dir);
  const base = resolveCheckpointDir(resolveModelDir(ac.base));
  loadHFWeights(model, base, { cropPositions: true });
  loadAdapter(model, dir, ac);
  const settings = (saved.lora as LoRASettings | undefined) ?? { rank: ac.rank, alpha: ac.alpha, dropout: ac.dropout, targets: ['attn', 'mlp'] };
  if (asked && (asked.rank !== settings.rank || asked.alpha !== settings.alpha || asked.dropout !== settings.dropout || asked.targets.join() !== settings.targets.join())) {
    throw new Error(`train --resume: the run's LoRA is rank ${settings.rank}, alpha ${settings.alpha}, dropout ${settings.dropout} on ${settings.targets.join(',')}; a resumed run keeps it`);
  }
  return { settings, base };
}

/** Stop a run whose loss stopped being a number: nothing more is saved, best/ keeps the last good model. */
function diverged(iter: number, what: string): never {
  throw new Error(`train: diverged at iteration ${iter}: ${what}; nothing was saved past the last finite evaluation (try a lower --learning-rate, a --warmup-iters, or --grad-clip)`);
}

/**
 * Train a GPT on a prepared corpus.
 * @example await train({ preset: 'shakespeare-char', dataDir: 'runs/data', outDir: 'runs/sc', device: 'gpu' });
 */
export async function train(o: TrainOptions): Promise<TrainResult> {
  const preset = typeof o.preset === 'string' ? getPreset(o.preset) : o.preset;
  const device = o.device ?? getDefaultDevice();
  if (device === 'gpu' && !hasBackend('gpu')) await initWebGPU();
  const ds = TokenDataset.open(o.dataDir);
  const release = claimOutDir(o.outDir, { resume: o.resume === true, force: o.force === true });
  try {
    return await runTraining(o, preset, device, ds);
  } finally {
    release();
    ds.close();
  }
}

async function runTraining(o: TrainOptions, preset: Preset, device: Device, ds: TokenDataset): Promise<TrainResult> {
  const lastDir = join(o.outDir, 'last');
  const corpus = corpusFingerprint(ds.meta);
  let tc: TrainConfig = { ...preset.train, ...(o.train ?? {}) };
  let modelConfig: Partial<GPTConfig> = { ...preset.model, ...(o.model ?? {}), vocabSize: ds.vocabSize };
  let state: RunState;
  let resumeFrom: ReturnType<typeof loadCheckpoint> | null = null;
  let initFrom: string | null = null;
  try {
    if (o.resume) {
      if (!existsSync(lastDir) && !existsSync(`${lastDir}.previous`)) throw new Error(`train --resume: no checkpoint to resume in ${lastDir}`);
      resumeFrom = loadCheckpoint(lastDir, { device, weights: false });
      const stateFile = join(resumeFrom.dir, 'state.json');
      const saved = readSavedRun(resumeFrom.state, stateFile);
      const legacy = isLegacyConfig(resumeFrom.config);
      const savedPreset = legacy ? resumeFrom.config.preset : (resumeFrom.config.llmts as { preset?: unknown } | undefined)?.preset;
      if (savedPreset !== undefined && savedPreset !== preset.name) throw new Error(`train --resume: the run in ${o.outDir} was trained with --preset ${String(savedPreset)}, not ${preset.name}`);
      if (resumeFrom.optimizerState === null) throw new Error(`train --resume: ${join(resumeFrom.dir, 'optimizer.safetensors')} is missing, so AdamW's moments are lost and the run cannot continue exactly (start again with --force)`);
      checkSameCorpus(saved.corpus, corpus, o.dataDir);
      modelConfig = fromHFConfig(resumeFrom.config, join(resumeFrom.dir, 'config.json'));
      for (const [key, value] of Object.entries(o.model ?? {})) {
        if ((modelConfig as Record<string, unknown>)[key] !== value) throw new Error(`train --resume: the run's model has ${key} ${JSON.stringify((modelConfig as Record<string, unknown>)[key])}; a resumed run keeps its model, so ${key} ${JSON.stringify(value)} cannot apply`);
      }
      tc = { ...saved.train, ...(o.train ?? {}) };
      state = { iter: saved.iter, bestVal: saved.bestVal, rng: saved.rng, trainedSeconds: saved.trainedSeconds, history: saved.history };
    } else {
      if (o.initFrom !== undefined) {
        initFrom = resolveCheckpointDir(resolveModelDir(o.initFrom));
        if (isAdapterDir(initFrom)) throw new Error(`train --init-from: ${initFrom} is a LoRA adapter; merge it into its base first (llmts export --merge-lora --checkpoint ${initFrom} --out DIR)`);
        modelConfig = initialConfig(initFrom, preset, o, ds);
      }
      manualSeed(tc.seed);
      state = { iter: 0, bestVal: Infinity, rng: getRngState(), trainedSeconds: 0, history: [] };
    }
    if (!vocabularyCovers(modelConfig.vocabSize!, ds.vocabSize)) throw new Error(`train: the checkpoint's vocabulary (${modelConfig.vocabSize}) differs from the corpus' (${ds.vocabSize})`);
    checkMemory(makeConfig(modelConfig), tc.batchSize, device);
    if (o.lora && !o.resume && initFrom === null) throw new Error('train: LoRA adapts a pretrained model; give the model to adapt with --init-from CHECKPOINT');
    const model = new GPT(modelConfig, { device, init: resumeFrom === null && initFrom === null });
    let optimizer: AdamW | null = null;
    let lora: LoraRun | null = null;
    try {
      if (resumeFrom) {
        if (isAdapterDir(resumeFrom.dir)) lora = resumeAdapters(model, resumeFrom.dir, resumeFrom.state, o.lora);
        else {
          if (o.lora) throw new Error(`train --resume: the run in ${o.outDir} trains all weights; it cannot continue with LoRA (start a LoRA run with --init-from ${join(o.outDir, 'best')})`);
          if (isLegacyConfig(resumeFrom.config)) {
            const old = loadCheckpoint(resumeFrom.dir, { device, optimizer: false });
            try {
              model.loadStateDict(old.modelState);
            } finally {
              for (const t of Object.values(old.modelState)) t.dispose();
            }
          } else loadHFWeights(model, resumeFrom.dir);
        }
      } else if (initFrom !== null) {
        const raw = readJsonFile(join(initFrom, 'config.json'));
        if (isLegacyConfig(raw)) throw new Error(`train --init-from: ${initFrom} is an old llm.ts checkpoint; load and re-save it (llmts export) first`);
        loadHFWeights(model, initFrom, { cropPositions: true });
        if (o.lora) {
          addLoRA(model, o.lora);
          lora = { settings: o.lora, base: initFrom };
        }
      }
      if (lora && o.progress !== false) process.stderr.write(`train: LoRA rank ${lora.settings.rank} (alpha ${lora.settings.alpha}) on ${lora.settings.targets.join(', ')}: ${trainableSummary(model).text}\n`);
      optimizer = new AdamW(model.optimizerGroups(tc.weightDecay), { lr: tc.learningRate, betas: [tc.beta1, tc.beta2], eps: 1e-8 });
      if (resumeFrom) {
        optimizer.loadStateDict(resumeFrom.optimizerState!);
        setRngState(state.rng);
      }
      return await trainLoop({ o, preset, device, ds, tc, state, model, optimizer, corpus, lora });
    } catch (e) {
      model.dispose();
      throw e;
    } finally {
      optimizer?.dispose();
    }
  } finally {
    // the checkpoint's tensors were copied into the model and optimizer (or refused)
    for (const t of Object.values(resumeFrom?.modelState ?? {})) t.dispose();
    for (const t of Object.values(resumeFrom?.optimizerState?.tensors ?? {})) t.dispose();
  }
}

interface LoopContext {
  o: TrainOptions;
  preset: Preset;
  device: Device;
  ds: TokenDataset;
  tc: TrainConfig;
  state: RunState;
  model: GPT;
  optimizer: AdamW;
  corpus: CorpusFingerprint;
  lora: LoraRun | null;
}

async function trainLoop({ o, preset, device, ds, tc, state, model, optimizer, corpus, lora }: LoopContext): Promise<TrainResult> {
  const lastDir = join(o.outDir, 'last');
  const bestDir = join(o.outDir, 'best');
  const lrAt = tc.decayLr
    ? warmupCosine({ maxLr: tc.learningRate, minLr: tc.minLr, warmupIters: tc.warmupIters, decayIters: Math.max(tc.lrDecayIters, tc.warmupIters) })
    : () => tc.learningRate;
  const logPath = join(o.outDir, 'log.jsonl');
  // on resume the log is rewritten from the checkpoint, dropping entries after it
  writeFileSync(logPath, state.history.map((e) => `${JSON.stringify(e)}\n`).join(''));
  // the evaluation of the iteration a checkpoint was saved at already ran (and drew its batches)
  const evaluatedAt = o.resume ? state.iter : -1;
  const log = (e: LogEntry) => {
    state.history.push(e);
    appendFileSync(logPath, `${JSON.stringify(e)}\n`);
    o.onLog?.(e);
  };
  const save = async (dir: string) => {
    const trainedSeconds = state.trainedSeconds + (Date.now() - runStart) / 1000;
    await saveGPT(model, ds.tokenizer, dir, {
      extras: { preset: preset.name },
      optimizer,
      state: { ...state, trainedSeconds, rng: getRngState(), train: tc, dataDir: o.dataDir, corpus, ...(lora ? { lora: lora.settings } : {}) } as unknown as Record<string, unknown>,
      metadata: { preset: preset.name },
      ...(lora ? { lora } : {}),
    });
  };
  const bar = o.progress === false ? null : new ProgressLine('train', 10_000);
  const tokensPerIter = tc.batchSize * tc.gradAccumSteps * model.config.blockSize;
  const runStart = Date.now();
  let trainMs = 0;
  let itersTimed = 0;
  let windowStart = Date.now();
  let windowIters = 0;
  let lastEval = { train: NaN, val: NaN };
  model.train();
  const stepper = new TrainStepper(model, optimizer, tc, { captureGraph: o.captureGraph !== false });
  let replayedDispatches = 0;
  try {
    for (;; state.iter++) {
      const iter = state.iter;
      const lr = lrAt(iter);
      optimizer.setLr(lr);
      if ((iter % tc.evalInterval === 0 || iter >= tc.maxIters) && iter !== evaluatedAt) {
        const t0 = Date.now();
        lastEval = await estimateLoss(model, ds, { batchSize: tc.batchSize, iters: tc.evalIters, device });
        if (!Number.isFinite(lastEval.train) || !Number.isFinite(lastEval.val)) diverged(iter, `the estimated loss is train ${lastEval.train}, val ${lastEval.val}`);
        log({ type: 'eval', iter, train: lastEval.train, val: lastEval.val, elapsed: state.trainedSeconds + (Date.now() - runStart) / 1000 });
        bar?.done(`iter ${iter}: train loss ${lastEval.train.toFixed(4)}, val loss ${lastEval.val.toFixed(4)}`);
        writePlots(o.outDir, state.history, `${preset.name} on ${ds.meta.vocabSize}-token vocabulary`);
        if (lastEval.val < state.bestVal || tc.alwaysSaveCheckpoint) {
          state.bestVal = Math.min(state.bestVal, lastEval.val);
          if (iter > 0 || tc.maxIters === 0) await save(bestDir);
        }
        if (iter > 0) await save(lastDir);
        windowStart += Date.now() - t0;
      }
      if (iter >= tc.maxIters) break;
      const loss = stepper.step(() => ds.getBatch('train', tc.batchSize, model.config.blockSize, { device }));
      windowIters++;
      if (iter % tc.logInterval === 0) {
        const lossValue = await loss.item(); // the one readback of a logged step
        if (!Number.isFinite(lossValue)) {
          stepper.release(loss);
          diverged(iter, `the training loss is ${lossValue}`);
        }
        const now = Date.now();
        const msPerIter = (now - windowStart) / windowIters;
        trainMs += now - windowStart;
        itersTimed += windowIters;
        windowStart = now;
        windowIters = 0;
        const entry: LogEntry = { type: 'train', iter, loss: lossValue, lr, msPerIter, tokensPerSec: (tokensPerIter * 1000) / msPerIter, elapsed: state.trainedSeconds + (now - runStart) / 1000 };
        log(entry);
        bar?.update(`iter ${iter}/${tc.maxIters} | loss ${lossValue.toFixed(4)} | lr ${lr.toExponential(2)} | ${formatCount(entry.tokensPerSec)} tok/s | ${msPerIter.toFixed(0)} ms/iter | ETA ${formatDuration(((tc.maxIters - iter) * msPerIter) / 1000)}`);
      } else if (device === 'gpu' && iter % 4 === 0) {
        await getBackend(device).sync(); // keep the queue short without a readback per step
      }
      stepper.release(loss);
    }
  } finally {
    replayedDispatches = stepper.dispatches;
    stepper.dispose();
  }
  await getBackend(device).sync();
  const seconds = state.trainedSeconds + (Date.now() - runStart) / 1000;
  state.trainedSeconds = seconds;
  if (!existsSync(lastDir)) await save(lastDir);
  if (!existsSync(bestDir)) await save(bestDir);
  writePlots(o.outDir, state.history, `${preset.name} on ${ds.meta.vocabSize}-token vocabulary`);
  const msPerIter = itersTimed > 0 ? trainMs / itersTimed : NaN;
  return { iters: state.iter, bestVal: state.bestVal, finalTrain: lastEval.train, finalVal: lastEval.val, msPerIter, tokensPerSec: (tokensPerIter * 1000) / msPerIter, seconds, outDir: o.outDir, model, replayedDispatches };
}
