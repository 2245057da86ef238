import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tensor, type Device, type Tensor } from '@llmts/tensor';
import { randomInts } from '@llmts/tensor/internal';
import { indexBatches } from '../batching.ts';
import { openTokenSource, type ReadBackend, type TokenDtype, type TokenSource } from './token-source.ts';
import { tokenizerFromJSON } from '../tokenizers/load.ts';
import type { Tokenizer, TokenizerJSON } from '../tokenizers/tokenizer.ts';

/** meta.json written by `llmts prepare` beside train.bin and val.bin. */
export interface CorpusMeta {
  version: 1;
  dtype: TokenDtype;
  vocabSize: number;
  tokenizer: TokenizerJSON;
  trainTokens: number;
  valTokens: number;
  /** Id appended between documents, when the tokenizer has one. */
  eotToken: number | null;
  valFraction: number;
  sources: string[];
}

export type Split = 'train' | 'val';

export interface Batch {
  /** Inputs (B, T), int32. */
  x: Tensor;
  /** Targets (B, T): the inputs shifted by one. */
  y: Tensor;
}

/** Check meta.json's fields, naming the file and the field at fault. */
function checkMeta(meta: CorpusMeta, file: string): void {
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) throw new Error(`${file}: expected a JSON object`);
  if (meta.dtype !== 'uint16' && meta.dtype !== 'uint32') throw new Error(`${file}: dtype must be uint16 or uint32, got ${JSON.stringify(meta.dtype)}`);
  for (const key of ['vocabSize', 'trainTokens', 'valTokens'] as const) {
    const v = meta[key] as unknown;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < (key === 'vocabSize' ? 1 : 0)) throw new Error(`${file}: ${key} must be a ${key === 'vocabSize' ? 'positive' : 'non-negative'} integer, got ${JSON.stringify(v)}`);
  }
  if (meta.dtype === 'uint16' && meta.vocabSize > 65536) throw new Error(`${file}: a vocabulary of ${meta.vocabSize} does not fit uint16 token files`);
  try {
    const tokenizer = tokenizerFromJSON(meta.tokenizer);
    if (tokenizer.vocabSize > meta.vocabSize) throw new Error(`its ${tokenizer.vocabSize} tokens exceed vocabSize ${meta.vocabSize}`);
  } catch (e) {
    throw new Error(`${file}: tokenizer: ${(e as Error).message.replace(/^tokenizer: /, '')}`);
  }
}

/**
 * Train/val token files read without loading them: random (B, T) batches as nanoGPT's
 * `get_batch`, or sliding windows with a stride for epoch-style training.
 * @example
 * const ds = TokenDataset.open('data/shakespeare_char');
 * const { x, y } = ds.getBatch('train', 64, 256, { device: 'gpu' });
 */
export class TokenDataset {
  private readonly sources: Record<Split, TokenSource>;
  private tok: Tokenizer | null = null;

  private constructor(readonly dir: string, readonly meta: CorpusMeta, backend: ReadBackend | 'auto') {
    this.sources = {
      train: openTokenSource(join(dir, 'train.bin'), meta.dtype, backend),
      val: openTokenSource(join(dir, 'val.bin'), meta.dtype, backend),
    };
    for (const split of ['train', 'val'] as const) {
      const want = split === 'train' ? meta.trainTokens : meta.valTokens;
      if (this.sources[split].length !== want) {
        throw new Error(`${join(dir, `${split}.bin`)}: holds ${this.sources[split].length} tokens but meta.json says ${want} (incomplete or mismatched prepare?)`);
      }
    }
  }

  /** Open a prepared corpus directory (meta.json, train.bin, val.bin). */
  static open(dir: string, options: { backend?: ReadBackend | 'auto' } = {}): TokenDataset {
    const metaPath = join(dir, 'meta.json');
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`dataset ${dir}: no such directory (run llmts prepare first)`);
    if (!existsSync(metaPath)) throw new Error(`dataset ${dir}: no meta.json (not prepared, or an interrupted prepare)`);
    let meta: CorpusMeta;
    try {
      meta = JSON.parse(readFileSync(metaPath, 'utf8')) as CorpusMeta;
    } catch (e) {
      throw new Error(`${metaPath}: not valid JSON (${(e as Error).message})`);
    }
    checkMeta(meta, metaPath);
    return new TokenDataset(dir, meta, options.backend ?? 'auto');
  }

  /** 'mmap' or 'pread': how tokens are read. */
  get backend(): ReadBackend {
    return this.sources.train.backend;
  }

  /** The tokenizer the corpus was prepared with (from meta.json). */
  get tokenizer(): Tokenizer {
    this.tok ??= tokenizerFromJSON(this.meta.tokenizer);
    return this.tok;
  }

  /** Vocabulary size of the token files. */
  get vocabSize(): number {
    return this.meta.vocabSize;
  }

  /** Tokens in a split. */
  length(split: Split): number {
    return this.source(split).length;
  }

  private source(split: Split): TokenSource {
    const s = this.sources[split];
    if (s === undefined) throw new Error(`dataset: unknown split '${split}' (valid: train, val)`);
    return s;
  }

  /** Tokens [start, start + count) of a split. */
  readTokens(split: Split, start: number, count: number): Int32Array {
    const out = new Int32Array(count);
    this.source(split).read(start, count, out, 0);
    return out;
  }

  /**
   * B random windows of T+1 tokens (offsets from the seeded generator): x = first T, y = last T.
   */
  getBatch(split: Split, batchSize: number, blockSize: number, options: { device?: Device } = {}): Batch {
    const src = this.source(split);
    if (src.length < blockSize + 1) {
      throw new Error(`getBatch: the ${split} split has ${src.length} tokens, too few for blockSize ${blockSize} (needs ${blockSize + 1})`);
    }
    const offsets = randomInts(batchSize, 0, src.length - blockSize);
    return this.batchAt(src, offsets, blockSize, options.device);
  }

  private batchAt(src: TokenSource, offsets: ArrayLike<number>, blockSize: number, device?: Device): Batch {
    const B = offsets.length;
    const rows = new Int32Array(B * (blockSize + 1));
    for (let b = 0; b < B; b++) src.read(offsets[b]!, blockSize + 1, rows, b * (blockSize + 1));
    const x = new Int32Array(B * blockSize);
    const y = new Int32Array(B * blockSize);
    for (let b = 0; b < B; b++) {
      const row = rows.subarray(b * (blockSize + 1), (b + 1) * (blockSize + 1));
      x.set(row.subarray(0, blockSize), b * blockSize);
      y.set(row.subarray(1), b * blockSize);
    }
    const opts = { dtype: 'int32' as const, device, shape: [B, blockSize] };
    return { x: tensor(x, opts), y: tensor(y, opts) };
  }

  /** Number of sliding windows of T+1 tokens starting every `stride` tokens. */
  windowCount(split: Split, blockSize: number, stride = blockSize): number {
    const n = this.source(split).length;
    return n < blockSize + 1 ? 0 : Math.floor((n - blockSize - 1) / stride) + 1;
  }

  /**
   * Sliding windows (start 0, stride, 2·stride, …) in batches: one epoch over a split, in order or
   * shuffled by the seeded generator (the course's GPTDatasetV1 + DataLoader).
   */
  *batches(split: Split, options: { batchSize: number; blockSize: number; stride?: number; shuffle?: boolean; dropLast?: boolean; device?: Device }): Generator<Batch> {
    const { batchSize, blockSize, stride = blockSize, shuffle = false, dropLast = false, device } = options;
    const src = this.source(split);
    for (const idx of indexBatches(this.windowCount(split, blockSize, stride), batchSize, { shuffle, dropLast })) {
      yield this.batchAt(src, idx.map((w) => w * stride), blockSize, device);
    }
  }

  /** Release the token files (mappings or file descriptors). */
  close(): void {
    this.sources.train.close();
    this.sources.val.close();
  }
}
