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

/** A text with its label as written in the data file. */
export interface NamedLabelText {
  text: string;
  label: string;
}

/**
 * Labeled texts from a file, by extension: `.tsv`/`.txt` lines of `label<TAB>text` (the SMS spam
 * collection; a first line `label<TAB>text` is a header), `.csv` with a header naming `text` and
 * `label` columns in any order and case (the book's train.csv), or `.jsonl` lines of
 * `{"text", "label"}`. Errors name the file and line.
 * @example const rows = readLabeledTexts('data/sms_spam.tsv'); // [{ label: 'ham', text: 'Go until…' }, …]
 */
export function readLabeledTexts(path: string): NamedLabelText[] {
  let content: string;
  try {
    content = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const lower = path.toLowerCase();
  let rows: NamedLabelText[];
  if (lower.endsWith('.jsonl')) rows = jsonlRows(content, path);
  else if (lower.endsWith('.csv')) rows = csvRows(content, path);
  else rows = tsvRows(content, path);
  if (rows.length === 0) throw new Error(`${path}: no labeled texts in it`);
  return rows;
}

function tsvRows(content: string, path: string): NamedLabelText[] {
  const out: NamedLabelText[] = [];
  content.split('\n').forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') return;
    const tab = line.indexOf('\t');
    if (tab <= 0) throw new Error(`${path}:${i + 1}: expected '<label>\\t<text>'`);
    const label = line.slice(0, tab).trim();
    if (i === 0 && label.toLowerCase() === 'label' && line.slice(tab + 1).trim().toLowerCase() === 'text') return; // a header
    out.push({ label, text: line.slice(tab + 1) });
  });
  return out;
}

function jsonlRows(content: string, path: string): NamedLabelText[] {
  const out: NamedLabelText[] = [];
  content.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (e) {
      throw new Error(`${path}:${i + 1}: not valid JSON (${(e as Error).message})`);
    }
    const o = v as Record<string, unknown>;
    if (typeof o?.text !== 'string' || (typeof o.label !== 'string' && typeof o.label !== 'number')) throw new Error(`${path}:${i + 1}: expected {"text": string, "label": string or number}`);
    out.push({ text: o.text, label: String(o.label) });
  });
  return out;
}

/** RFC 4180 fields: commas and newlines inside double quotes, "" for a quote. */
function csvRecords(content: string): string[][] {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  for (let i = 0; i < content.length; i++) {
    const c = content[i]!;
    if (quoted) {
      if (c === '"' && content[i + 1] === '"') { field += '"'; i++; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { record.push(field); field = ''; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && content[i + 1] === '\n') i++;
      record.push(field);
      if (record.some((f) => f !== '')) records.push(record);
      record = [];
      field = '';
    } else field += c;
  }
  record.push(field);
  if (record.some((f) => f !== '')) records.push(record);
  return records;
}

function csvRows(content: string, path: string): NamedLabelText[] {
  const [header, ...records] = csvRecords(content);
  const names = (header ?? []).map((h) => h.trim().toLowerCase());
  const ti = names.indexOf('text');
  const li = names.indexOf('label');
  if (ti < 0 || li < 0) throw new Error(`${path}: the first line must name a 'text' and a 'label' column, got ${JSON.stringify(header ?? [])}`);
  return records.map((r, i) => {
    if (r.length !== names.length) throw new Error(`${path}: record ${i + 2} has ${r.length} fields, the header ${names.length}`);
    return { text: r[ti]!, label: r[li]!.trim() };
  });
}

/**
 * Number the labels: `labels` gives the order (each row's label must be one of them), otherwise
 * the distinct labels sorted (ham → 0, spam → 1).
 */
export function numberLabels(rows: readonly NamedLabelText[], labels?: readonly string[]): { examples: LabeledText[]; labels: string[] } {
  const names = labels ? [...labels] : [...new Set(rows.map((r) => r.label))].sort();
  const index = new Map(names.map((n, i) => [n, i]));
  const examples = rows.map((r, i) => {
    const label = index.get(r.label);
    if (label === undefined) throw new Error(`labeled text ${i}: label '${r.label}' is not one of ${names.join(', ')}`);
    return { text: r.text, label };
  });
  return { examples, labels: names };
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
  /** Real (unpadded) token count of each example, at most maxLength. */
  readonly lengths: number[];
  readonly padTokenId: number;

  /** `unknown: 'skip'` leaves out characters a character-level vocabulary lacks (see `unknownCharacters`). */
  constructor(examples: readonly LabeledText[], tokenizer: Tokenizer, options: { maxLength?: number; padTokenId?: number; unknown?: 'error' | 'skip' } = {}) {
    const pad = (this.padTokenId = options.padTokenId ?? 50256);
    const raw = examples.map((e, i) => {
      const ids = tokenizer.encode(e.text, { specialAsText: true, unknown: options.unknown });
      if (ids.length === 0) throw new Error(`ClassificationDataset: example ${i} has no tokens (empty text)`);
      return ids;
    });
    this.maxLength = options.maxLength ?? Math.max(...raw.map((r) => r.length));
    this.lengths = raw.map((r) => Math.min(r.length, this.maxLength));
    this.encoded = raw.map((r) => [...r.slice(0, this.maxLength), ...new Array(Math.max(0, this.maxLength - r.length)).fill(pad)]);
    this.labels = examples.map((e) => e.label);
  }

  /** Number of examples. */
  get length(): number {
    return this.encoded.length;
  }

  /**
   * Batches of (inputs (B, L), labels (B), lengths), in order or shuffled by the seeded generator.
   * L is maxLength, or with `padding: 'longest'` the longest example of the batch (less work).
   */
  *batches(options: { batchSize: number; shuffle?: boolean; dropLast?: boolean; device?: Device; padding?: 'max-length' | 'longest' }): Generator<{ inputs: Tensor; labels: Tensor; lengths: number[]; indices: number[] }> {
    for (const idx of indexBatches(this.length, options.batchSize, options)) {
      const lengths = idx.map((k) => this.lengths[k]!);
      const width = options.padding === 'longest' ? Math.max(...lengths) : this.maxLength;
      const inputs = tensor(idx.flatMap((k) => this.encoded[k]!.slice(0, width)), { dtype: 'int32', device: options.device, shape: [idx.length, width] });
      const labels = tensor(idx.map((k) => this.labels[k]!), { dtype: 'int32', device: options.device });
      yield { inputs, labels, lengths, indices: idx };
    }
  }
}
