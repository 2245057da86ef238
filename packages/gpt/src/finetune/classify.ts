/**
 * `llmts finetune classify`: fine-tune a pretrained GPT into a text classifier, as "Build an LLM
 * from scratch" ch. 6 does for SMS spam. A class-balanced, seeded 70/10/20 split; batches padded to
 * their longest text and read at each text's last real token; only the last blocks, the final norm
 * and the new head train (or LoRA adapters and the head); train/val/test accuracy every epoch,
 * the best epoch by validation accuracy kept in best/, a confusion matrix and accuracy plots.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { crossEntropy, manualSeed, noGrad, tidy, type Device, type Tensor } from '@llmts/tensor';
import { getBackend } from '@llmts/tensor/internal';
import { clipGradNorm, resolveCheckpointDir } from '@llmts/nn';
import { ClassificationDataset, unknownCharacters, balanceClasses, numberLabels, randomSplit, readLabeledTexts, type LabeledText, type NamedLabelText, type Tokenizer } from '@llmts/data';
import { ProgressLine, formatCount, formatDuration } from '@llmts/data/internal';
import { loadGPT, resolveModelDir } from '../checkpoint.ts';
import { claimOutDir } from '../train/run-dir.ts';
import { GPTClassifier } from './classifier.ts';
import { saveClassifier, type ClassifierMeta } from './classifier-files.ts';
import { addLoRA, mergeAdapters, type LoRASettings } from './lora.ts';
import { adamwFor, endOfText, freezeBody, openDevice, trainableSummary, writeCurves } from './common.ts';

/** Options of `finetuneClassifier`. */
export interface ClassifyOptions {
  /** A pretrained GPT: a checkpoint made here, a training --out directory, or a Hugging Face GPT-2 directory. */
  checkpoint: string;
  /** A labeled-text file (.tsv, .csv, .jsonl; see `readLabeledTexts`) or the rows themselves. */
  data: string | readonly NamedLabelText[];
  outDir: string;
  /** Label order (default: the distinct labels sorted). */
  labels?: readonly string[];
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  weightDecay?: number;
  /** Clip the global gradient norm (0 = off, the default). */
  gradClip?: number;
  /** Transformer blocks that train, counted from the last (default 1), or 'all' (embeddings too). */
  trainableBlocks?: number | 'all';
  /** Train the final LayerNorm too (default true). */
  trainFinalNorm?: boolean;
  /** Undersample every class to the smallest (default true). */
  balance?: boolean;
  trainFraction?: number;
  valFraction?: number;
  /** Cut texts to this many tokens (default: the longest training text, at most the context). */
  maxLength?: number;
  /** Dropout while fine-tuning (default 0, as the book). */
  dropout?: number;
  /** Evaluate at most this many batches per split each epoch (default: all). */
  evalBatches?: number;
  seed?: number;
  /** Train LoRA adapters (and the head) instead of the last blocks. */
  lora?: LoRASettings;
  device?: Device;
  /** Replace a run already in outDir. */
  force?: boolean;
  progress?: boolean;
  onLog?: (entry: ClassifyLogEntry) => void;
}

/** Accuracy and mean loss on one split. */
export interface SplitScore {
  accuracy: number;
  loss: number;
  examples: number;
}

export type ClassifyLogEntry =
  | { type: 'train'; epoch: number; step: number; loss: number; examplesPerSec: number; tokensPerSec: number; elapsed: number }
  | { type: 'eval'; epoch: number; step: number; train: SplitScore; val: SplitScore; test: SplitScore; elapsed: number };

/** What `finetuneClassifier` returns. */
export interface ClassifyResult {
  labels: string[];
  epochs: Extract<ClassifyLogEntry, { type: 'eval' }>[];
  /** The epoch kept in best/ (highest validation accuracy, then lowest validation loss). */
  best: { epoch: number; train: SplitScore; val: SplitScore; test: SplitScore };
  /** Test-set confusion matrix of the best epoch: rows are true labels, columns predictions. */
  confusion: number[][];
  examples: { train: number; val: number; test: number };
  maxLength: number;
  trainable: number;
  total: number;
  seconds: number;
  outDir: string;
  model: GPTClassifier;
}

/** Files a classification run writes besides best/ and last/ (replaced by --force). */
const OUTPUTS = ['metrics.json', 'accuracy.svg', 'accuracy.png', 'loss.svg', 'loss.png'];

/**
 * Fine-tune a GPT as a classifier.
 * @example await finetuneClassifier({ checkpoint: 'runs/pretrained', data: 'data/sms_spam.tsv', outDir: 'runs/spam' })
 */
export async function finetuneClassifier(o: ClassifyOptions): Promise<ClassifyResult> {
  const device = await openDevice(o.device);
  const release = claimOutDir(o.outDir, { resume: false, force: o.force === true, command: 'finetune classify', outputs: OUTPUTS });
  try {
    return await run(o, device);
  } finally {
    release();
  }
}

interface Splits {
  train: ClassificationDataset;
  val: ClassificationDataset;
  test: ClassificationDataset;
}

function prepareSplits(o: ClassifyOptions, tokenizer: Tokenizer, contextLength: number, pad: number): { splits: Splits; labels: string[] } {
  const rows = typeof o.data === 'string' ? readLabeledTexts(o.data) : o.data;
  const { examples, labels } = numberLabels(rows, o.labels);
  if (labels.length < 2) throw new Error(`finetune classify: the data has only the label ${JSON.stringify(labels[0])}; a classifier needs two or more`);
  const used = o.balance === false ? examples : balanceClasses(examples);
  const { train, val, test } = randomSplit(used, o.trainFraction ?? 0.7, o.valFraction ?? 0.1);
  for (const [name, part] of [['train', train], ['validation', val], ['test', test]] as const) {
    if (part.length === 0) throw new Error(`finetune classify: the ${name} split is empty (${used.length} examples); use more data or other --train-fraction/--val-fraction`);
  }
  const unknown = unknownCharacters(tokenizer, used.map((e) => e.text));
  if (unknown.size > 0 && o.progress !== false) {
    const list = [...unknown].sort((a, b) => b[1] - a[1]);
    process.stderr.write(`finetune classify: ${list.reduce((n, [, c]) => n + c, 0)} characters outside the model's vocabulary are left out (${list.slice(0, 12).map(([c, n]) => `${JSON.stringify(c)}×${n}`).join(' ')}${list.length > 12 ? ' …' : ''})\n`);
  }
  const encode = (part: LabeledText[], maxLength?: number) => {
    try {
      return new ClassificationDataset(part, tokenizer, { padTokenId: pad, maxLength, unknown: 'skip' });
    } catch (e) {
      throw new Error(`finetune classify: ${(e as Error).message} (does the checkpoint's tokenizer cover the data?)`);
    }
  };
  const first = encode(train);
  const maxLength = Math.min(o.maxLength ?? first.maxLength, contextLength);
  const trainDs = maxLength === first.maxLength ? first : encode(train, maxLength);
  return { splits: { train: trainDs, val: encode(val, maxLength), test: encode(test, maxLength) }, labels };
}

/** Accuracy, loss and predictions of `clf` on (up to `maxBatches` batches of) a split. */
async function evaluate(clf: GPTClassifier, ds: ClassificationDataset, o: { batchSize: number; maxBatches?: number; device: Device }): Promise<SplitScore & { predictions: number[]; truth: number[] }> {
  clf.eval();
  let correct = 0;
  let lossSum = 0;
  const predictions: number[] = [];
  const truth: number[] = [];
  let batches = 0;
  for (const b of ds.batches({ batchSize: o.batchSize, device: o.device, padding: 'longest' })) {
    if (o.maxBatches !== undefined && batches >= o.maxBatches) {
      b.inputs.dispose();
      b.labels.dispose();
      break;
    }
    batches++;
    const { logits, loss } = tidy(() => noGrad(() => {
      const lg = clf.forward(b.inputs, b.lengths);
      return { logits: lg, loss: crossEntropy(lg, b.labels, { reduction: 'sum' }) };
    }));
    const values = await logits.data();
    lossSum += await loss.item();
    logits.dispose();
    loss.dispose();
    b.inputs.dispose();
    b.labels.dispose();
    const K = clf.numClasses;
    b.indices.forEach((k, r) => {
      let best = 0;
      for (let c = 1; c < K; c++) if (values[r * K + c]! > values[r * K + best]!) best = c;
      predictions.push(best);
      truth.push(ds.labels[k]!);
      if (best === ds.labels[k]) correct++;
    });
  }
  clf.train();
  return { accuracy: correct / truth.length, loss: lossSum / truth.length, examples: truth.length, predictions, truth };
}

function confusionMatrix(truth: readonly number[], predictions: readonly number[], k: number): number[][] {
  const m = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  truth.forEach((t, i) => { m[t]![predictions[i]!]!++; });
  return m;
}

async function run(o: ClassifyOptions, device: Device): Promise<ClassifyResult> {
  const epochs = o.epochs ?? 5;
  const batchSize = o.batchSize ?? 8;
  const seed = o.seed ?? 123;
  if (!Number.isInteger(epochs) || epochs < 1) throw new Error(`finetune classify: epochs must be a positive integer, got ${epochs}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`finetune classify: batch size must be a positive integer, got ${batchSize}`);
  manualSeed(seed);
  const baseDir = resolveCheckpointDir(resolveModelDir(o.checkpoint));
  const loaded = loadGPT(o.checkpoint, { device, dropout: o.dropout ?? 0 });
  if (loaded.adapter && o.lora) {
    loaded.model.dispose();
    throw new Error(`finetune classify: ${o.checkpoint} is a LoRA adapter; LoRA needs full base weights (merge it first: llmts export --merge-lora)`);
  }
  if (loaded.adapter) mergeAdapters(loaded.model);
  const { tokenizer } = loaded;
  const pad = endOfText(tokenizer) ?? 0;
  let splits: Splits;
  let labels: string[];
  try {
    ({ splits, labels } = prepareSplits(o, tokenizer, loaded.config.blockSize, pad));
  } catch (e) {
    loaded.model.dispose();
    throw e;
  }
  const clf = GPTClassifier.fromGPT(loaded.model, labels);
  try {
    if (o.lora) addLoRA(clf, o.lora, ['score.weight']);
    else {
      freezeBody(clf, o.trainableBlocks ?? 1, o.trainFinalNorm !== false);
      clf.score.weight.requiresGrad = true;
    }
  } catch (e) {
    clf.dispose();
    throw e;
  }
  const summary = trainableSummary(clf);
  const meta: ClassifierMeta = { padTokenId: pad, maxLength: splits.train.maxLength };
  const optimizer = adamwFor(clf, { learningRate: o.learningRate ?? 5e-5, weightDecay: o.weightDecay ?? 0.1 });
  const say = (s: string) => { if (o.progress !== false) process.stderr.write(`finetune classify: ${s}\n`); };
  say(`${labels.length} labels (${labels.join(', ')}); ${splits.train.length} train, ${splits.val.length} val, ${splits.test.length} test texts of at most ${meta.maxLength} tokens; ${summary.text}${o.lora ? ` (LoRA rank ${o.lora.rank} on ${o.lora.targets.join(', ')}, and the head)` : ''}`);
  const logPath = join(o.outDir, 'log.jsonl');
  writeFileSync(logPath, '');
  const history: ClassifyLogEntry[] = [];
  const start = Date.now();
  const elapsed = () => (Date.now() - start) / 1000;
  const log = (e: ClassifyLogEntry) => {
    history.push(e);
    appendFileSync(logPath, `${JSON.stringify(e)}\n`);
    o.onLog?.(e);
  };
  const save = (dir: string, epoch: number) => saveClassifier(clf, tokenizer, join(o.outDir, dir), {
    meta, optimizer: dir === 'last' ? optimizer : undefined, state: { epoch, seed },
    extras: { finetunedFrom: baseDir },
    ...(o.lora ? { lora: { settings: o.lora, base: baseDir } } : {}),
  });
  const evalAll = async (epoch: number, step: number) => {
    const opts = { batchSize, maxBatches: o.evalBatches, device };
    const train = await evaluate(clf, splits.train, opts);
    const val = await evaluate(clf, splits.val, opts);
    const test = await evaluate(clf, splits.test, opts);
    const pick = (s: SplitScore) => ({ accuracy: s.accuracy, loss: s.loss, examples: s.examples });
    log({ type: 'eval', epoch, step, train: pick(train), val: pick(val), test: pick(test), elapsed: elapsed() });
    say(`epoch ${epoch}: accuracy train ${(100 * train.accuracy).toFixed(1)}%, val ${(100 * val.accuracy).toFixed(1)}%, test ${(100 * test.accuracy).toFixed(1)}% (loss ${train.loss.toFixed(3)} / ${val.loss.toFixed(3)} / ${test.loss.toFixed(3)})`);
    return { train: pick(train), val: pick(val), test: pick(test), confusion: confusionMatrix(test.truth, test.predictions, labels.length) };
  };
  try {
    let best = { epoch: 0, ...(await evalAll(0, 0)) };
    const bar = o.progress === false ? null : new ProgressLine('finetune classify', 10_000);
    const stepsPerEpoch = Math.ceil(splits.train.length / batchSize);
    let step = 0;
    clf.train();
    for (let epoch = 1; epoch <= epochs; epoch++) {
      let windowStart = Date.now();
      let windowExamples = 0;
      let windowTokens = 0;
      for (const b of splits.train.batches({ batchSize, shuffle: true, device, padding: 'longest' })) {
        const loss: Tensor = tidy(() => {
          const l = crossEntropy(clf.forward(b.inputs, b.lengths), b.labels);
          l.backward();
          if ((o.gradClip ?? 0) > 0) clipGradNorm(clf.parameters().filter((p) => p.requiresGrad), o.gradClip!).dispose();
          optimizer.step();
          optimizer.zeroGrad();
          return l.detach();
        });
        b.inputs.dispose();
        b.labels.dispose();
        step++;
        windowExamples += b.lengths.length;
        windowTokens += b.lengths.length * Math.max(...b.lengths);
        if (step % 10 === 0 || step % stepsPerEpoch === 0) {
          const value = await loss.item();
          if (!Number.isFinite(value)) throw new Error(`finetune classify: the loss is ${value} at step ${step}; try a lower --learning-rate`);
          const secs = (Date.now() - windowStart) / 1000;
          const entry = { type: 'train' as const, epoch, step, loss: value, examplesPerSec: windowExamples / secs, tokensPerSec: windowTokens / secs, elapsed: elapsed() };
          log(entry);
          const left = (epochs * stepsPerEpoch - step) * (secs / windowExamples) * batchSize;
          bar?.update(`epoch ${epoch}/${epochs} | step ${step}/${epochs * stepsPerEpoch} | loss ${value.toFixed(4)} | ${entry.examplesPerSec.toFixed(1)} texts/s, ${formatCount(entry.tokensPerSec)} tok/s | ETA ${formatDuration(left)}`);
          windowStart = Date.now();
          windowExamples = 0;
          windowTokens = 0;
        } else if (device === 'gpu' && step % 4 === 0) await getBackend(device).sync();
        loss.dispose();
      }
      const scores = await evalAll(epoch, step);
      const better = scores.val.accuracy > best.val.accuracy || (scores.val.accuracy === best.val.accuracy && scores.val.loss < best.val.loss) || best.epoch === 0;
      if (better) {
        best = { epoch, ...scores };
        await save('best', epoch);
      }
      await save('last', epoch);
      writeOutputs(o.outDir, history, labels);
    }
    const result: ClassifyResult = {
      labels, epochs: history.filter((e) => e.type === 'eval') as Extract<ClassifyLogEntry, { type: 'eval' }>[],
      best: { epoch: best.epoch, train: best.train, val: best.val, test: best.test }, confusion: best.confusion,
      examples: { train: splits.train.length, val: splits.val.length, test: splits.test.length }, maxLength: meta.maxLength,
      trainable: summary.trainable, total: summary.total, seconds: elapsed(), outDir: resolve(o.outDir), model: clf,
    };
    const { model: _model, ...json } = result;
    void _model;
    writeFileSync(join(o.outDir, 'metrics.json'), `${JSON.stringify({ ...json, lora: o.lora ?? null, checkpoint: baseDir }, null, 2)}\n`);
    return result;
  } catch (e) {
    clf.dispose();
    throw e;
  } finally {
    optimizer.dispose();
  }
}

/** accuracy.svg/png (per epoch) and loss.svg/png (per logged step and per epoch). */
function writeOutputs(dir: string, history: readonly ClassifyLogEntry[], labels: readonly string[]): void {
  const evals = history.filter((e) => e.type === 'eval') as Extract<ClassifyLogEntry, { type: 'eval' }>[];
  const trains = history.filter((e) => e.type === 'train') as Extract<ClassifyLogEntry, { type: 'train' }>[];
  const stepsPerEpoch = evals.length > 1 ? evals[1]!.step / evals[1]!.epoch : 1;
  const at = (e: { step: number }) => e.step / stepsPerEpoch;
  const acc = (key: 'train' | 'val' | 'test', label: string, color: string) => ({ label, color, markers: true, points: evals.map((e) => [e.epoch, 100 * e[key].accuracy] as [number, number]) });
  writeCurves(dir, 'accuracy', [acc('train', 'train', '#1f77b4'), acc('val', 'validation', '#d62728'), acc('test', 'test', '#2ca02c')], { title: `classification accuracy (${labels.join(' / ')})`, xLabel: 'epoch', yLabel: 'accuracy (%)' });
  writeCurves(dir, 'loss', [
    { label: 'train (batch)', color: '#9ecae1', points: trains.map((e) => [at(e), e.loss]) },
    { label: 'validation', color: '#d62728', markers: true, points: evals.map((e) => [e.epoch, e.val.loss]) },
  ], { title: 'classification loss', xLabel: 'epoch', yLabel: 'cross-entropy loss' });
}
