/**
 * `llmts prepare`: tokenize a corpus (.txt and .xz files, one or a folder of them) into flat
 * train.bin / val.bin token files plus meta.json, streaming so the corpus is never in memory.
 * Outputs are written under temporary names and renamed at the end, meta.json last, so an
 * interrupted run never leaves files that look complete.
 */
import { closeSync, createReadStream, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readSync, renameSync, rmSync, statSync, ftruncateSync, writeSync } from 'node:fs';
import { Readable } from 'node:stream';
import { join, relative, resolve } from 'node:path';
import { writeFileAtomic } from '@llmts/tensor/internal';
import xz from 'xz-decompress';

const { XzReadableStream } = xz;
import { CharTokenizer } from '../tokenizers/char.ts';
import { ByteLevelBPE } from '../tokenizers/bpe.ts';
import { trainBpe } from '../tokenizers/train-bpe.ts';
import { loadTokenizer, saveTokenizer } from '../tokenizers/load.ts';
import type { Tokenizer } from '../tokenizers/tokenizer.ts';
import { Utf8Validator } from './utf8.ts';
import type { CorpusMeta } from './dataset.ts';

export interface PrepareProgress {
  phase: 'scan' | 'encode';
  /** Input bytes consumed (compressed bytes for .xz). */
  bytes: number;
  totalBytes: number;
  tokens: number;
  file: string;
}

export interface PrepareOptions {
  /** A .txt/.xz file or a folder searched recursively for them. */
  input: string;
  out: string;
  /**
   * 'char' (built from the corpus), 'bpe' (a byte-level BPE learned from the corpus, with
   * `<|endoftext|>`), 'gpt2', a tokenizer JSON path, or a tokenizer.
   */
  tokenizer: string | Tokenizer;
  /** With 'bpe': the vocabulary size to learn (default 4096). */
  vocabSize?: number;
  /** With 'bpe': learn the merges from at most this many bytes of the corpus (default 64 MiB). */
  bpeSampleBytes?: number;
  /** Share of tokens (from the end) held out for validation; default 0.1. */
  valFraction?: number;
  /** Put the end-of-text token between files when the tokenizer has one (default true). */
  separateDocuments?: boolean;
  onProgress?: (p: PrepareProgress) => void;
}

/** The .txt and .xz files of an input path, sorted; a clear error when there are none. */
export function listInputs(input: string): string[] {
  if (!existsSync(input)) throw new Error(`prepare: input '${input}' does not exist`);
  const st = statSync(input);
  if (st.isFile()) return [input];
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(txt|xz)$/i.test(e.name)) out.push(p);
    }
  };
  walk(input);
  if (out.length === 0) throw new Error(`prepare: no .txt or .xz files under '${input}'`);
  return out;
}

/** Raw bytes of a file (decompressed for .xz), with a count of input bytes consumed. */
async function* bytesOf(file: string, consumed: (n: number) => void): AsyncGenerator<Uint8Array> {
  const raw = createReadStream(file, { highWaterMark: 1 << 20 });
  raw.on('data', (c) => consumed((c as Buffer).length));
  if (!/\.xz$/i.test(file)) {
    for await (const chunk of raw) yield chunk as Buffer;
    return;
  }
  const reader = new XzReadableStream(Readable.toWeb(raw) as ReadableStream<Uint8Array>).getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      yield value;
    }
  } catch (e) {
    throw new Error(`prepare: ${file}: ${xzProblem((e as Error).message)}`);
  }
}

/** xz-embedded's return codes in words (the decoder reports only the number). */
const XZ_CODES: Record<string, string> = {
  2: 'uses an integrity check this decoder does not support',
  3: 'needs more memory than is available to decompress',
  4: 'needs more memory than the decoder allows',
  5: 'is not an .xz file (bad magic bytes or header)',
  6: 'uses compression options this decoder does not support',
  7: 'is corrupt (the compressed data or its checksum is damaged)',
  8: 'is truncated (the file ends before the compressed stream does)',
};

function xzProblem(message: string): string {
  const code = /error code (\d+)/.exec(message)?.[1];
  return code !== undefined && XZ_CODES[code] !== undefined ? XZ_CODES[code] : `xz decompression failed (${message})`;
}

/** Decoded text chunks of a file; invalid UTF-8 is an error naming the file and byte offset. */
async function* textOf(file: string, consumed: (n: number) => void): AsyncGenerator<string> {
  const validator = new Utf8Validator();
  const decoder = new TextDecoder('utf-8');
  for await (const bytes of bytesOf(file, consumed)) {
    const bad = validator.push(bytes);
    if (bad >= 0) throw new Error(`prepare: ${file} is not valid UTF-8 (bad byte at offset ${bad}${/\.xz$/i.test(file) ? ' of the decompressed data' : ''})`);
    yield decoder.decode(bytes, { stream: true });
  }
  const unfinished = validator.end();
  if (unfinished >= 0) throw new Error(`prepare: ${file} is not valid UTF-8 (truncated sequence at offset ${unfinished})`);
  const rest = decoder.decode();
  if (rest) yield rest;
}

/** Buffered little-endian token writer into an open file. */
class TokenWriter {
  count = 0;
  private readonly buf: Uint16Array | Uint32Array;
  private used = 0;
  constructor(private readonly fd: number, wide: boolean) {
    this.buf = wide ? new Uint32Array(1 << 20) : new Uint16Array(1 << 20);
  }
  push(ids: readonly number[]): void {
    for (const id of ids) {
      this.buf[this.used++] = id;
      if (this.used === this.buf.length) this.flush();
    }
    this.count += ids.length;
  }
  flush(): void {
    const bytes = new Uint8Array(this.buf.buffer, 0, this.used * this.buf.BYTES_PER_ELEMENT);
    let done = 0;
    while (done < bytes.length) done += writeSync(this.fd, bytes, done);
    this.used = 0;
  }
}

function copyRange(fromFd: number, toFd: number, start: number, length: number): void {
  const chunk = new Uint8Array(8 << 20);
  let done = 0;
  while (done < length) {
    const n = readSync(fromFd, chunk, 0, Math.min(chunk.length, length - done), start + done);
    if (n === 0) throw new Error('prepare: unexpected end of the temporary token file');
    let w = 0;
    while (w < n) w += writeSync(toFd, chunk, w, n - w);
    done += n;
  }
}

/**
 * Tokenize a corpus into `out`/train.bin, val.bin (uint16, or uint32 past 65,536 ids),
 * tokenizer.json and meta.json.
 * @example await prepareCorpus({ input: 'data/tinyshakespeare.txt', out: 'runs/shakespeare', tokenizer: 'char' });
 */
export async function prepareCorpus(o: PrepareOptions): Promise<CorpusMeta> {
  const valFraction = o.valFraction ?? 0.1;
  if (!(valFraction >= 0 && valFraction < 1)) throw new Error(`prepare: --val-fraction must be in [0, 1), got ${valFraction}`);
  const files = listInputs(o.input);
  const totalBytes = files.reduce((n, f) => n + statSync(f).size, 0);
  const progress = (phase: PrepareProgress['phase'], bytes: number, tokens: number, file: string) => o.onProgress?.({ phase, bytes, totalBytes, tokens, file });

  if (o.vocabSize !== undefined && o.tokenizer !== 'bpe') throw new Error(`prepare: --vocab-size is for --tokenizer bpe (the ${typeof o.tokenizer === 'string' ? o.tokenizer : o.tokenizer.kind} tokenizer has its own)`);
  let tokenizer: Tokenizer;
  if (typeof o.tokenizer !== 'string') tokenizer = o.tokenizer;
  else if (o.tokenizer === 'char') {
    const chars = new Set<string>();
    let bytes = 0;
    for (const f of files) for await (const text of textOf(f, (n) => { bytes += n; })) {
      for (const c of text) chars.add(c);
      progress('scan', bytes, 0, f);
    }
    tokenizer = CharTokenizer.fromText([...chars].join(''));
  } else if (o.tokenizer === 'bpe') {
    const limit = o.bpeSampleBytes ?? 64 * 2 ** 20;
    const sample: string[] = [];
    let bytes = 0;
    for (const f of files) {
      for await (const text of textOf(f, (n) => { bytes += n; })) {
        sample.push(text);
        progress('scan', bytes, 0, f);
        if (bytes >= limit) break;
      }
      if (bytes >= limit) break;
    }
    tokenizer = trainBpe(sample, { vocabSize: o.vocabSize ?? 4096, specialTokens: ['<|endoftext|>'] });
  } else tokenizer = loadTokenizer(o.tokenizer);

  const wide = tokenizer.vocabSize > 65536;
  const eot = tokenizer.specialId('<|endoftext|>') ?? null;
  const separate = (o.separateDocuments ?? true) && eot !== null && files.length > 1;
  mkdirSync(o.out, { recursive: true });
  const tmpAll = join(o.out, `.tokens.tmp-${process.pid}`);
  const tmpVal = join(o.out, `.val.bin.tmp-${process.pid}`);
  const fd = openSync(tmpAll, 'w+');
  const writer = new TokenWriter(fd, wide);
  try {
    let bytes = 0;
    let last = 0;
    const encode = (text: string) => (tokenizer instanceof ByteLevelBPE ? tokenizer.encodeOrdinary(text) : tokenizer.encode(text, { specialAsText: true }));
    for (let fi = 0; fi < files.length; fi++) {
      const f = files[fi]!;
      let carry = '';
      for await (const text of textOf(f, (n) => { bytes += n; })) {
        const all = carry + text;
        const cut = tokenizer instanceof ByteLevelBPE ? tokenizer.safeCut(all) : all.length;
        writer.push(encode(all.slice(0, cut)));
        carry = all.slice(cut);
        const now = Date.now();
        if (now - last > 100) { progress('encode', bytes, writer.count, f); last = now; }
      }
      if (carry) writer.push(encode(carry));
      if (separate && fi < files.length - 1) writer.push([eot!]);
    }
    writer.flush();
    progress('encode', bytes, writer.count, files[files.length - 1]!);
    const total = writer.count;
    if (total === 0) throw new Error(`prepare: the corpus is empty (no tokens from ${files.length} file${files.length === 1 ? '' : 's'} under '${o.input}')`);
    const nTrain = Math.floor(total * (1 - valFraction));
    const item = wide ? 4 : 2;
    const vfd = openSync(tmpVal, 'w');
    try {
      copyRange(fd, vfd, nTrain * item, (total - nTrain) * item);
      fsyncSync(vfd);
    } finally {
      closeSync(vfd);
    }
    ftruncateSync(fd, nTrain * item);
    fsyncSync(fd);
    closeSync(fd);
    const meta: CorpusMeta = {
      version: 1,
      dtype: wide ? 'uint32' : 'uint16',
      vocabSize: tokenizer.vocabSize,
      tokenizer: tokenizer.toJSON(),
      trainTokens: nTrain,
      valTokens: total - nTrain,
      eotToken: eot,
      valFraction,
      sources: files.map((f) => relative(resolve(o.out), resolve(f))),
    };
    // the directory must not look complete while its files change: meta.json goes first, comes back last
    rmSync(join(o.out, 'meta.json'), { force: true });
    renameSync(tmpAll, join(o.out, 'train.bin'));
    renameSync(tmpVal, join(o.out, 'val.bin'));
    saveTokenizer(tokenizer, join(o.out, 'tokenizer.json'));
    writeFileAtomic(join(o.out, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
    return meta;
  } catch (e) {
    try { closeSync(fd); } catch { /* already closed */ }
    rmSync(tmpAll, { force: true });
    rmSync(tmpVal, { force: true });
    throw e;
  }
}
