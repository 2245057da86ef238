/**
 * Text classification data, as "Build an LLM from scratch" ch. 6 prepares the SMS spam collection:
 * a class-balanced subset, a 70/10/20 random split, and examples padded to the longest one.
 */
import { readFileSync } from 'node:fs';
import { tensor, type Device, type Tensor } from '@llmts/tensor';
import type { Tokenizer } from '../tokenizers/tokenizer.ts';
import { indexBatches, seededPermutation } from '../batching.ts';

export interface LabeledText {
  text: string;
  label: number;
}

/** Read `label<TAB>text` lines (the SMS spam collection: ham → 0, spam → 1). */
export function loadSmsSpam(path: string, labels: readonly string[] = ['ham', 'spam']): LabeledText[] {
  const out: LabeledText[] = [];
  readFileSync(path, 'utf8').split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const tab = line.indexOf('\t');
    const label = labels.indexOf(line.slice(0, tab));
    if (tab < 0 || label < 0) throw new Error(`${path}:${i + 1}: expected '<${labels.join('|')}>\\t<text>'`);
    out.push({ text: line.slice(tab + 1), label });
  });
  return out;
}

/** Undersample every class to the size of the smallest (seeded). */
export function balanceClasses(examples: readonly LabeledText[]): LabeledText[] {
  const byClass = new Map<number, LabeledText[]>();
  for (const e of examples) {
    const list = byClass.get(e.label) ?? [];
    list.push(e);
    byClass.set(e.label, list);
  }
  const n = Math.min(...[...byClass.values()].map((l) => l.length));
  const out: LabeledText[] = [];
  for (const label of [...byClass.keys()].sort((a, b) => a - b)) {
    const list = byClass.get(label)!;
    out.push(...seededPermutation(list.length).slice(0, n).map((i) => list[i]!));
  }
  return out;
}

/** Shuffle (seeded) and split into train / val / test by fractions (the rest is test). */
export function randomSplit<T>(items: readonly T[], trainFraction = 0.7, valFraction = 0.1): { train: T[]; val: T[]; test: T[] } {
  const shuffled = seededPermutation(items.length).map((i) => items[i]!);
  const nTrain = Math.floor(items.length * trainFraction);
  const nVal = Math.floor(items.length * valFraction);
  return { train: shuffled.slice(0, nTrain), val: shuffled.slice(nTrain, nTrain + nVal), test: shuffled.slice(nTrain + nVal) };
}

/** Tokenized texts padded (or truncated) to one length, with their labels. */
export class ClassificationDataset {
  readonly encoded: number[][];
  readonly labels: number[];
  readonly maxLength: number;

  constructor(examples: readonly LabeledText[], tokenizer: Tokenizer, options: { maxLength?: number; padTokenId?: number } = {}) {
    const pad = options.padTokenId ?? 50256;
    const raw = examples.map((e) => tokenizer.encode(e.text, { specialAsText: true }));
    this.maxLength = options.maxLength ?? Math.max(...raw.map((r) => r.length));
    this.encoded = raw.map((r) => [...r.slice(0, this.maxLength), ...new Array(Math.max(0, this.maxLength - r.length)).fill(pad)]);
    this.labels = examples.map((e) => e.label);
  }

  /** Number of examples. */
  get length(): number {
    return this.encoded.length;
  }

  /** Batches of (inputs (B, L), labels (B)), in order or shuffled by the seeded generator. */
  *batches(options: { batchSize: number; shuffle?: boolean; dropLast?: boolean; device?: Device }): Generator<{ inputs: Tensor; labels: Tensor }> {
    for (const idx of indexBatches(this.length, options.batchSize, options)) {
      const inputs = tensor(idx.flatMap((k) => this.encoded[k]!), { dtype: 'int32', device: options.device, shape: [idx.length, this.maxLength] });
      const labels = tensor(idx.map((k) => this.labels[k]!), { dtype: 'int32', device: options.device });
      yield { inputs, labels };
    }
  }
}
