/**
 * A GPT sequence classifier, as "Build an LLM from scratch" ch. 6 and Hugging Face's
 * GPT2ForSequenceClassification: the GPT body and a `score` head (nEmbd -> classes, no bias) read
 * at each sequence's last real token. Inputs are padded on the right; with causal attention the
 * padding cannot reach the real tokens, so its value does not matter.
 */
import { embedding, getDefaultDevice, noGrad, softmax, tensor, tidy, type Device, type Tensor } from '@llmts/tensor';
import { Linear, Module, init } from '@llmts/nn';
import type { Tokenizer } from '@llmts/data';
import { makeConfig, type GPTConfig } from '../config.ts';
import { GPT, Transformer } from '../model.ts';

/**
 * The classifier. @example
 * const clf = GPTClassifier.fromGPT(gpt, ['ham', 'spam']);
 * const logits = clf.forward(ids, lengths); // (B, 2)
 */
export class GPTClassifier extends Module {
  transformer: Transformer;
  score: Linear;
  readonly labels: readonly string[];

  private constructor(transformer: Transformer, labels: readonly string[], score: Linear) {
    super();
    this.transformer = transformer;
    this.labels = [...labels];
    this.score = score;
  }

  /** The GPT's shape. */
  get config(): GPTConfig {
    return this.transformer.config;
  }

  /** A classifier with a new body (`init: false` leaves weights zero, for loading). */
  static create(config: Partial<GPTConfig>, labels: readonly string[], options: { device?: Device; init?: boolean } = {}): GPTClassifier {
    checkLabels(labels);
    const c = makeConfig(config);
    const gpt = new GPT(c, { device: options.device, init: options.init });
    return GPTClassifier.fromGPT(gpt, labels);
  }

  /**
   * Put a new score head on a language model's body (the body is taken over, the LM head freed
   * unless it is the tied token embedding). The head starts as GPT-2 initialises Linear weights.
   */
  static fromGPT(gpt: GPT, labels: readonly string[]): GPTClassifier {
    checkLabels(labels);
    const c = gpt.config;
    if (!c.tiedEmbeddings) gpt.lm_head.dispose();
    const score = new Linear(c.nEmbd, labels.length, { bias: false, device: gpt.device, init: false });
    init.normal_(score.weight, 0, 0.02);
    const clf = new GPTClassifier(gpt.transformer, labels, score);
    clf.train(gpt.training);
    return clf;
  }

  /** The device the weights are on. */
  get device(): Device {
    return this.transformer.wpe.weight.device;
  }

  /** Number of classes. */
  get numClasses(): number {
    return this.labels.length;
  }

  /**
   * idx (B, T) int32, right-padded, with each row's real length -> class logits (B, classes) at
   * each row's last real token.
   */
  forward(idx: Tensor, lengths: readonly number[]): Tensor {
    const [B, T] = idx.shape as [number, number];
    if (lengths.length !== B) throw new Error(`GPTClassifier.forward: ${lengths.length} lengths for a batch of ${B}`);
    lengths.forEach((n, b) => {
      if (!Number.isInteger(n) || n < 1 || n > T) throw new Error(`GPTClassifier.forward: row ${b} has length ${n}, outside 1..${T}`);
    });
    const h = this.transformer.forward(idx); // (B, T, C)
    const C = this.config.nEmbd;
    const last = tensor(lengths.map((n, b) => b * T + n - 1), { dtype: 'int32', device: idx.device });
    const pooled = embedding(last, h.reshape(B * T, C)); // (B, C): one row per sequence
    return this.score.forward(pooled);
  }

  /**
   * Class probabilities of texts (in eval mode, no gradients; texts longer than the context keep
   * their first tokens, as in training; characters a character vocabulary lacks are left out).
   * @example const [p] = await clf.predict(tokenizer, ['You won a prize!']); // [0.03, 0.97]
   */
  async predict(tokenizer: Tokenizer, texts: readonly string[], options: { maxLength?: number; padTokenId?: number } = {}): Promise<number[][]> {
    const wasTraining = this.training;
    this.eval();
    try {
      const maxLength = Math.min(options.maxLength ?? this.config.blockSize, this.config.blockSize);
      const rows = texts.map((t, i) => {
        const ids = tokenizer.encode(t, { specialAsText: true, unknown: 'skip' }).slice(0, maxLength);
        if (ids.length === 0) throw new Error(`GPTClassifier.predict: text ${i} is empty after tokenization`);
        return ids;
      });
      const probs = tidy(() => noGrad(() => {
        const { inputs, lengths } = padRight(rows, options.padTokenId ?? 0, this.device);
        return softmax(this.forward(inputs, lengths), -1);
      }));
      const values = await probs.data();
      probs.dispose();
      const K = this.numClasses;
      return rows.map((_, r) => Array.from(values.subarray(r * K, (r + 1) * K)));
    } finally {
      this.train(wasTraining);
    }
  }
}

function checkLabels(labels: readonly string[]): void {
  if (labels.length < 2) throw new Error(`GPTClassifier: need at least 2 labels, got ${JSON.stringify(labels)}`);
  if (new Set(labels).size !== labels.length) throw new Error(`GPTClassifier: labels must be distinct, got ${JSON.stringify(labels)}`);
}

/** Rows of ids padded on the right to the longest, as a (B, T) int32 tensor, with their lengths. */
export function padRight(rows: readonly (readonly number[])[], padTokenId: number, device?: Device): { inputs: Tensor; lengths: number[] } {
  if (rows.length === 0) throw new Error('padRight: empty batch');
  const T = Math.max(...rows.map((r) => r.length));
  const flat = new Int32Array(rows.length * T).fill(padTokenId);
  rows.forEach((r, i) => flat.set(r, i * T));
  return { inputs: tensor(flat, { dtype: 'int32', device: device ?? getDefaultDevice(), shape: [rows.length, T] }), lengths: rows.map((r) => r.length) };
}
