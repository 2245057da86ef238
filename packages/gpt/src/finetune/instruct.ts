/**
 * `llmts finetune instruct`: instruction fine-tuning as "Build an LLM from scratch" ch. 7. Alpaca
 * prompts, the 85/10/5 train/test/validation split, batches padded to their longest example and
 * cropped to the context, padding (and with `maskPrompt` the prompt) left out of the loss by the
 * ignore index; the loss before and after, the best epoch by validation loss in best/, and the
 * model's responses to the test split written to test-responses.json.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { manualSeed, noGrad, tidy, type Device, type Tensor } from '@llmts/tensor';
import { getBackend } from '@llmts/tensor/internal';
import { clipGradNorm, resolveCheckpointDir } from '@llmts/nn';
import { InstructionDataset, formatInstructionExample, unknownCharacters, formatInstructionPrompt, instructionBatches, loadInstructionData, splitInstructionData, type InstructionExample, type Tokenizer } from '@llmts/data';
import { ProgressLine, formatCount, formatDuration } from '@llmts/data/internal';
import { loadGPT, resolveModelDir } from '../checkpoint.ts';
import { generate } from '../generate.ts';
import type { GPT } from '../model.ts';
import { saveGPT } from '../hf/export.ts';
import { claimOutDir } from '../train/run-dir.ts';
import { addLoRA, mergeAdapters, type LoRASettings } from './lora.ts';
import { adamwFor, endOfText, openDevice, trainableSummary, writeCurves } from './common.ts';

/** Options of `finetuneInstructions`. */
export interface InstructOptions {
  checkpoint: string;
  /** A JSON list of {instruction, input, output}, or the examples themselves. */
  data: string | readonly InstructionExample[];
  outDir: string;
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  weightDecay?: number;
  gradClip?: number;
  /** Leave the prompt out of the loss too, so only responses are learned. */
  maskPrompt?: boolean;
  /** Crop examples to this many tokens (default and at most: the model's context). */
  maxLength?: number;
  trainFraction?: number;
  testFraction?: number;
  /** Shuffle before splitting (default false: the book's split by position). */
  shuffle?: boolean;
  dropout?: number;
  /** Estimate the validation loss every this many steps as well as after every epoch. */
  evalInterval?: number;
  /** Batches per split in each loss estimate (default: all). */
  evalBatches?: number;
  /** Tokens per test response (default 256). */
  maxNewTokens?: number;
  /** Write responses for at most this many test examples (default: all). */
  responses?: number;
  seed?: number;
  lora?: LoRASettings;
  device?: Device;
  force?: boolean;
  progress?: boolean;
  onLog?: (entry: InstructLogEntry) => void;
}

export type InstructLogEntry =
  | { type: 'train'; epoch: number; step: number; loss: number; tokensPerSec: number; elapsed: number }
  | { type: 'eval'; epoch: number; step: number; train: number; val: number; elapsed: number };

/** One test example with the model's answer (the book's field names). */
export interface TestResponse extends InstructionExample {
  model_response: string;
}

/** What `finetuneInstructions` returns. */
export interface InstructResult {
  before: { train: number; val: number };
  after: { train: number; val: number };
  bestEpoch: number;
  examples: { train: number; val: number; test: number };
  responses: TestResponse[];
  trainable: number;
  total: number;
  seconds: number;
  outDir: string;
  model: GPT;
}

const OUTPUTS = ['metrics.json', 'loss.svg', 'loss.png', 'test-responses.json'];

/**
 * Instruction-tune a GPT.
 * @example await finetuneInstructions({ checkpoint: 'runs/base', data: 'data/instruction-data.json', outDir: 'runs/instruct' })
 */
export async function finetuneInstructions(o: InstructOptions): Promise<InstructResult> {
  const device = await openDevice(o.device);
  const release = claimOutDir(o.outDir, { resume: false, force: o.force === true, command: 'finetune instruct', outputs: OUTPUTS });
  try {
    return await run(o, device);
  } finally {
    release();
  }
}

/** Mean loss over (up to `maxBatches`) batches, in eval mode. */
async function meanLoss(model: GPT, ds: InstructionDataset, o: { batchSize: number; maxBatches?: number; device: Device; maskPrompt: boolean; maxLength: number; pad: number; maskAllPadding: boolean }): Promise<number> {
  if (ds.length === 0) return NaN;
  model.eval();
  let total: Tensor | null = null;
  let n = 0;
  for (const b of instructionBatches(ds, { batchSize: o.batchSize, device: o.device, maskPrompt: o.maskPrompt, allowedMaxLength: o.maxLength, padTokenId: o.pad, maskAllPadding: o.maskAllPadding })) {
    if (o.maxBatches !== undefined && n >= o.maxBatches) {
      b.inputs.dispose();
      b.targets.dispose();
      break;
    }
    const next: Tensor = tidy(() => noGrad(() => {
      const l = model.forward(b.inputs, b.targets, { ignoreIndex: -100 }).loss!;
      return total === null ? l : total.add(l);
    }));
    total?.dispose();
    total = next;
    b.inputs.dispose();
    b.targets.dispose();
    n++;
  }
  const value = (await total!.item()) / n;
  total!.dispose();
  model.train();
  return value;
}

/** The text of a response: up to the end-of-text token or the next "###" section, trimmed. */
export function responseText(tokenizer: Tokenizer, ids: readonly number[], eot: number | undefined): string {
  const end = eot === undefined ? -1 : ids.indexOf(eot);
  const text = tokenizer.decode(end >= 0 ? ids.slice(0, end) : ids);
  const section = text.indexOf('###');
  return (section >= 0 ? text.slice(0, section) : text).trim();
}

/** Greedy answers of `model` to instruction examples (prompts cropped to leave room for the answer). */
export async function respond(model: GPT, tokenizer: Tokenizer, examples: readonly InstructionExample[], o: { maxNewTokens: number; onDone?: (k: number) => void }): Promise<string[]> {
  const eot = endOfText(tokenizer);
  const out: string[] = [];
  for (const e of examples) {
    const prompt = tokenizer.encode(`${formatInstructionPrompt(e)}\n\n### Response:\n`, { specialAsText: true, unknown: 'skip' });
    const room = Math.max(1, model.config.blockSize - Math.min(o.maxNewTokens, model.config.blockSize - 1));
    let text = '';
    const [ids] = await generate(model, [prompt.slice(-room)], {
      maxNewTokens: o.maxNewTokens, temperature: 0, stopToken: eot,
      // a model without an end-of-text token ends its answer where a new section starts
      onToken: (t) => {
        if (eot !== undefined) return;
        text += tokenizer.decode([t]);
        return !text.includes('###');
      },
    });
    out.push(responseText(tokenizer, ids!, eot));
    o.onDone?.(out.length);
  }
  return out;
}

async function run(o: InstructOptions, device: Device): Promise<InstructResult> {
  const epochs = o.epochs ?? 2;
  const batchSize = o.batchSize ?? 8;
  const seed = o.seed ?? 123;
  const maskPrompt = o.maskPrompt === true;
  if (!Number.isInteger(epochs) || epochs < 1) throw new Error(`finetune instruct: epochs must be a positive integer, got ${epochs}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`finetune instruct: batch size must be a positive integer, got ${batchSize}`);
  const examples = typeof o.data === 'string' ? loadInstructionData(o.data) : o.data;
  manualSeed(seed);
  const baseDir = resolveCheckpointDir(resolveModelDir(o.checkpoint));
  const loaded = loadGPT(o.checkpoint, { device, dropout: o.dropout ?? 0 });
  const { model, tokenizer } = loaded;
  const say = (s: string) => { if (o.progress !== false) process.stderr.write(`finetune instruct: ${s}\n`); };
  const cleanup: (() => void)[] = [() => model.dispose()];
  try {
    if (loaded.adapter && o.lora) throw new Error(`finetune instruct: ${o.checkpoint} is a LoRA adapter; LoRA needs full base weights (merge it first: llmts export --merge-lora)`);
    if (loaded.adapter) mergeAdapters(model);
    const eot = endOfText(tokenizer);
    if (eot === undefined) say("the tokenizer has no <|endoftext|>, so responses cannot learn where to stop; they end at --max-new-tokens or where a '###' section starts");
    const pad = eot ?? 0;
    const maxLength = Math.min(o.maxLength ?? model.config.blockSize, model.config.blockSize);
    const split = splitInstructionData(examples, { trainFraction: o.trainFraction ?? 0.85, testFraction: o.testFraction ?? 0.1, shuffle: o.shuffle === true });
    if (split.train.length === 0 || split.val.length === 0) throw new Error(`finetune instruct: ${examples.length} examples leave an empty ${split.train.length === 0 ? 'training' : 'validation'} split`);
    const unknown = unknownCharacters(tokenizer, [...split.train, ...split.val].map(formatInstructionExample));
    if (unknown.size > 0) {
      const list = [...unknown].sort((x, y) => y[1] - x[1]);
      say(`${list.reduce((n, [, c]) => n + c, 0)} characters outside the model's vocabulary are left out of prompts and responses (${list.slice(0, 12).map(([c, n]) => `${JSON.stringify(c)}×${n}`).join(' ')}${list.length > 12 ? ' …' : ''})`);
    }
    const encode = (part: InstructionExample[]) => new InstructionDataset(part, tokenizer, { unknown: 'skip' });
    // with the prompt masked, an example whose prompt fills the context has nothing left to learn
    const fits = (part: InstructionExample[]) => (maskPrompt ? part.filter((e) => tokenizer.encode(`${formatInstructionPrompt(e)}\n\n### Response:\n`, { specialAsText: true, unknown: 'skip' }).length < maxLength) : part);
    const trainPart = fits(split.train);
    const valPart = fits(split.val);
    const dropped = split.train.length + split.val.length - trainPart.length - valPart.length;
    if (dropped > 0) say(`${dropped} examples left out: their prompt alone fills the ${maxLength}-token context, so --mask-prompt leaves no target`);
    if (trainPart.length === 0 || valPart.length === 0) throw new Error(`finetune instruct: no ${trainPart.length === 0 ? 'training' : 'validation'} example fits the ${maxLength}-token context with --mask-prompt`);
    const train = encode(trainPart);
    const val = encode(valPart);
    const cropped = train.encoded.filter((e) => e.length > maxLength).length;
    if (o.lora) addLoRA(model, o.lora);
    const summary = trainableSummary(model);
    say(`${split.train.length} train, ${split.val.length} val, ${split.test.length} test examples; ${cropped > 0 ? `${cropped} training examples cropped to ${maxLength} tokens; ` : ''}${maskPrompt ? 'loss on responses only' : 'loss on prompts and responses'}; ${summary.text}${o.lora ? ` (LoRA rank ${o.lora.rank} on ${o.lora.targets.join(', ')})` : ''}`);
    const optimizer = adamwFor(model, { learningRate: o.learningRate ?? 5e-5, weightDecay: o.weightDecay ?? 0.1 });
    cleanup.push(() => optimizer.dispose());
    const lossOpts = { batchSize, maxBatches: o.evalBatches, device, maskPrompt, maxLength, pad, maskAllPadding: eot === undefined };
    const logPath = join(o.outDir, 'log.jsonl');
    writeFileSync(logPath, '');
    const history: InstructLogEntry[] = [];
    const start = Date.now();
    const elapsed = () => (Date.now() - start) / 1000;
    const log = (e: InstructLogEntry) => {
      history.push(e);
      appendFileSync(logPath, `${JSON.stringify(e)}\n`);
      o.onLog?.(e);
    };
    const evaluate = async (epoch: number, step: number) => {
      const e = { train: await meanLoss(model, train, lossOpts), val: await meanLoss(model, val, lossOpts) };
      if (!Number.isFinite(e.train) || !Number.isFinite(e.val)) throw new Error(`finetune instruct: the loss is train ${e.train}, val ${e.val} at step ${step}; try a lower --learning-rate`);
      log({ type: 'eval', epoch, step, ...e, elapsed: elapsed() });
      return e;
    };
    const save = (dir: string, epoch: number) => saveGPT(model, tokenizer, join(o.outDir, dir), {
      chatTemplate: 'alpaca', extras: { finetunedFrom: baseDir, maskPrompt },
      optimizer: dir === 'last' ? optimizer : undefined, state: { epoch, seed },
      ...(o.lora ? { lora: { settings: o.lora, base: baseDir } } : {}),
    });
    const before = await evaluate(0, 0);
    say(`before: train loss ${before.train.toFixed(4)}, val loss ${before.val.toFixed(4)}`);
    let best = { epoch: 0, val: Infinity };
    let last = before;
    const bar = o.progress === false ? null : new ProgressLine('finetune instruct', 10_000);
    const stepsPerEpoch = Math.ceil(train.length / batchSize);
    let step = 0;
    model.train();
    for (let epoch = 1; epoch <= epochs; epoch++) {
      let windowStart = Date.now();
      let windowTokens = 0;
      for (const b of instructionBatches(train, { batchSize, shuffle: true, device, maskPrompt, allowedMaxLength: maxLength, padTokenId: pad, maskAllPadding: eot === undefined })) {
        const loss: Tensor = tidy(() => {
          const l = model.forward(b.inputs, b.targets, { ignoreIndex: -100 }).loss!;
          l.backward();
          if ((o.gradClip ?? 0) > 0) clipGradNorm(model.parameters().filter((p) => p.requiresGrad), o.gradClip!).dispose();
          optimizer.step();
          optimizer.zeroGrad();
          return l.detach();
        });
        windowTokens += b.inputs.numel();
        b.inputs.dispose();
        b.targets.dispose();
        step++;
        if (step % 5 === 0 || step % stepsPerEpoch === 0) {
          const value = await loss.item();
          if (!Number.isFinite(value)) throw new Error(`finetune instruct: the loss is ${value} at step ${step}; try a lower --learning-rate`);
          const secs = (Date.now() - windowStart) / 1000;
          log({ type: 'train', epoch, step, loss: value, tokensPerSec: windowTokens / secs, elapsed: elapsed() });
          const perStep = elapsed() / step;
          bar?.update(`epoch ${epoch}/${epochs} | step ${step}/${epochs * stepsPerEpoch} | loss ${value.toFixed(4)} | ${formatCount(windowTokens / secs)} tok/s | ETA ${formatDuration((epochs * stepsPerEpoch - step) * perStep)}`);
          windowStart = Date.now();
          windowTokens = 0;
        } else if (device === 'gpu' && step % 4 === 0) await getBackend(device).sync();
        loss.dispose();
        if (o.evalInterval !== undefined && step % o.evalInterval === 0 && step % stepsPerEpoch !== 0) await evaluate(epoch, step);
      }
      last = await evaluate(epoch, step);
      bar?.done(`epoch ${epoch}: train loss ${last.train.toFixed(4)}, val loss ${last.val.toFixed(4)}`);
      if (last.val < best.val) {
        best = { epoch, val: last.val };
        await save('best', epoch);
      }
      await save('last', epoch);
      writeLossCurves(o.outDir, history, stepsPerEpoch);
    }
    // responses of the final model (last/) to the held-out test split
    const testSet = split.test.slice(0, o.responses ?? split.test.length);
    const t0 = Date.now();
    const answers = await respond(model, tokenizer, testSet, { maxNewTokens: o.maxNewTokens ?? 256, onDone: (k) => bar?.update(`responses ${k}/${testSet.length}`) });
    const responses = testSet.map((e, i) => ({ ...e, model_response: answers[i]! }));
    writeFileSync(join(o.outDir, 'test-responses.json'), `${JSON.stringify(responses, null, 2)}\n`);
    if (testSet.length > 0) say(`${testSet.length} test responses in ${formatDuration((Date.now() - t0) / 1000)} -> ${join(o.outDir, 'test-responses.json')}`);
    const result: InstructResult = {
      before, after: last, bestEpoch: best.epoch, examples: { train: split.train.length, val: split.val.length, test: split.test.length },
      responses, trainable: summary.trainable, total: summary.total, seconds: elapsed(), outDir: resolve(o.outDir), model,
    };
    const { model: _m, responses: _r, ...json } = result;
    void _m;
    void _r;
    writeFileSync(join(o.outDir, 'metrics.json'), `${JSON.stringify({ ...json, maskPrompt, lora: o.lora ?? null, checkpoint: baseDir }, null, 2)}\n`);
    cleanup.shift(); // the model is the caller's now
    return result;
  } finally {
    for (const f of cleanup) f();
  }
}

function writeLossCurves(dir: string, history: readonly InstructLogEntry[], stepsPerEpoch: number): void {
  const trains = history.filter((e) => e.type === 'train') as Extract<InstructLogEntry, { type: 'train' }>[];
  const evals = history.filter((e) => e.type === 'eval') as Extract<InstructLogEntry, { type: 'eval' }>[];
  writeCurves(dir, 'loss', [
    { label: 'train (batch)', color: '#9ecae1', points: trains.map((e) => [e.step / stepsPerEpoch, e.loss]) },
    { label: 'train', color: '#1f77b4', markers: true, points: evals.map((e) => [e.step / stepsPerEpoch, e.train]) },
    { label: 'validation', color: '#d62728', markers: true, points: evals.map((e) => [e.step / stepsPerEpoch, e.val]) },
  ], { title: 'instruction fine-tuning loss', xLabel: 'epoch', yLabel: 'cross-entropy loss' });
}
