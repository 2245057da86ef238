/**
 * Training a GPT on text held in memory, step by step under the caller's control: what a browser
 * page runs (it can stop between steps, resume, and save), with no files. The same recipe as
 * `llmts train` (nanoGPT's): random windows of the token stream, AdamW with decay only on
 * matrices, warmup + cosine learning rate, gradient clipping, and train/val loss estimates.
 */
import { getDefaultDevice, tensor, type Device, type Tensor } from '@llmts/tensor';
import { randomInts } from '@llmts/tensor/internal';
import { AdamW, warmupCosine, type LrSchedule } from '@llmts/nn';
import { CharTokenizer, type Tokenizer } from '@llmts/data';
import { GPT } from '../model.ts';
import type { GPTConfig } from '../config.ts';
import { TrainStepper } from './stepper.ts';
import { meanLosses } from './estimate.ts';

/** How a TextTrainer trains (defaults: nanoGPT's CPU recipe for characters). */
export interface TextTrainerOptions {
  /** The model (vocabSize comes from the tokenizer); default 4 layers, 4 heads, 128 dims, block 64. */
  model?: Omit<Partial<GPTConfig>, 'vocabSize'>;
  batchSize?: number;
  /** Steps the learning-rate schedule spans (training may stop earlier or go on at minLr). */
  maxIters?: number;
  learningRate?: number;
  minLr?: number;
  warmupIters?: number;
  weightDecay?: number;
  beta1?: number;
  beta2?: number;
  gradClip?: number;
  /** The share of the tokens held out for validation, from the end (default 0.1). */
  valFraction?: number;
  /** Batches per split in `estimateLoss` (default 20). */
  evalIters?: number;
  device?: Device;
}

/** One step's outcome. */
export interface TextStepResult {
  /** Steps taken so far (this one included). */
  iter: number;
  loss: number;
  lr: number;
  /** Wall time of the step, loss readback included. */
  ms: number;
  tokensPerSec: number;
}

const now = () => (globalThis.performance ?? Date).now();

/**
 * A GPT, its optimizer and the token stream it learns from, advanced one `step()` at a time.
 * @example
 * const t = TextTrainer.fromText(shakespeare, { maxIters: 200 });
 * for (let i = 0; i < 200; i++) console.log((await t.step()).loss);
 * const files = await gptToFiles(t.model, t.tokenizer);
 */
export class TextTrainer {
  readonly model: GPT;
  readonly optimizer: AdamW;
  readonly batchSize: number;
  iter = 0;
  private readonly schedule: LrSchedule;
  private readonly train: Int32Array;
  private readonly val: Int32Array;
  private readonly o: Required<Omit<TextTrainerOptions, 'model' | 'device'>>;
  /** Takes the steps (on the GPU, replaying a captured one from the third on, as `llmts train` does). */
  private readonly stepper: TrainStepper;

  /** A character-level model of `text` (its tokenizer built from the text's characters). */
  static fromText(text: string, options: TextTrainerOptions = {}): TextTrainer {
    const tokenizer = CharTokenizer.fromText(text);
    return new TextTrainer(tokenizer, Int32Array.from(tokenizer.encode(text)), options);
  }

  /** Train on `tokens` (ids of `tokenizer`), a new model unless `model` continues one. */
  constructor(readonly tokenizer: Tokenizer, tokens: Int32Array, options: TextTrainerOptions = {}, model?: GPT) {
    const o = {
      batchSize: 12, maxIters: 2000, learningRate: 1e-3, minLr: 1e-4, warmupIters: 100, weightDecay: 0.1, beta1: 0.9, beta2: 0.99,
      gradClip: 1, valFraction: 0.1, evalIters: 20, ...options,
    };
    for (const [k, v] of Object.entries(o)) {
      if (k !== 'model' && k !== 'device' && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) throw new Error(`TextTrainer: ${k} must be a finite number >= 0, got ${String(v)}`);
    }
    if (!(o.valFraction < 1)) throw new Error(`TextTrainer: valFraction must be below 1, got ${o.valFraction}`);
    if (!Number.isInteger(o.batchSize) || o.batchSize < 1) throw new Error(`TextTrainer: batchSize must be a positive integer, got ${o.batchSize}`);
    this.o = o;
    this.batchSize = o.batchSize;
    const cfg = { blockSize: 64, nLayer: 4, nHead: 4, nEmbd: 128, dropout: 0, bias: false, ...(options.model ?? {}), vocabSize: tokenizer.vocabSize };
    const split = Math.floor(tokens.length * (1 - o.valFraction));
    this.train = tokens.subarray(0, split);
    this.val = tokens.subarray(split);
    const block = model?.config.blockSize ?? cfg.blockSize;
    if (this.train.length <= block) throw new Error(`TextTrainer: the training text has ${this.train.length} tokens, but a window needs more than the block size ${block}; paste more text or shrink the block`);
    if (o.valFraction > 0 && this.val.length <= block) throw new Error(`TextTrainer: the validation share has ${this.val.length} tokens, fewer than a window of ${block + 1}; paste more text or lower valFraction`);
    this.model = model ?? new GPT(cfg, { device: options.device ?? getDefaultDevice() });
    this.model.train();
    this.optimizer = new AdamW(this.model.optimizerGroups(o.weightDecay), { lr: o.learningRate, betas: [o.beta1, o.beta2], eps: 1e-8 });
    this.stepper = new TrainStepper(this.model, this.optimizer, { gradClip: o.gradClip });
    this.schedule = warmupCosine({ maxLr: o.learningRate, minLr: o.minLr, warmupIters: o.warmupIters, decayIters: Math.max(o.maxIters, o.warmupIters) });
  }

  /** Tokens each step learns from. */
  get tokensPerStep(): number {
    return this.batchSize * this.model.config.blockSize;
  }

  /** A batch of windows (inputs and the next tokens) from one split. */
  batch(split: 'train' | 'val'): { x: Tensor; y: Tensor } {
    const data = split === 'train' ? this.train : this.val;
    const B = this.batchSize, T = this.model.config.blockSize;
    const x = new Int32Array(B * T), y = new Int32Array(B * T);
    // windows from the process's seeded generator (manualSeed), as a TokenDataset draws them
    const starts = randomInts(B, 0, data.length - T);
    for (let b = 0; b < B; b++) {
      const at = starts[b]!;
      x.set(data.subarray(at, at + T), b * T);
      y.set(data.subarray(at + 1, at + T + 1), b * T);
    }
    const device = this.model.device;
    return { x: tensor(x, { dtype: 'int32', shape: [B, T], device }), y: tensor(y, { dtype: 'int32', shape: [B, T], device }) };
  }

  /** One optimizer step; resolves once its loss is read back. */
  async step(): Promise<TextStepResult> {
    const t0 = now();
    const lr = this.schedule(this.iter);
    this.optimizer.setLr(lr);
    this.model.train();
    const loss = this.stepper.step(() => this.batch('train'));
    const value = (await loss.data())[0]!;
    this.stepper.release(loss);
    this.iter++;
    const ms = now() - t0;
    return { iter: this.iter, loss: value, lr, ms, tokensPerSec: (this.tokensPerStep / ms) * 1000 };
  }

  /** Mean loss over `evalIters` batches of each split (dropout off; `val` is NaN without a validation share). */
  async estimateLoss(): Promise<{ train: number; val: number }> {
    const splits = this.val.length > this.model.config.blockSize ? ['train', 'val'] as const : ['train'] as const;
    const out = await meanLosses(this.model, (split) => this.batch(split), this.o.evalIters, splits);
    return { train: out.train!, val: out.val ?? NaN };
  }

  /** Free the model, the optimizer's state and the captured step. */
  dispose(): void {
    this.stepper.dispose();
    this.optimizer.dispose();
    this.model.dispose();
  }
}
