import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ByteLevelBPE, GPT2_PATTERN } from './bpe.ts';

const ASSETS = fileURLToPath(new URL('../../assets/gpt2/', import.meta.url));

/** GPT-2's reversible byte -> printable-character map (bytes_to_unicode in OpenAI's encoder.py). */
export function bytesToUnicode(): string[] {
  const printable: number[] = [];
  for (let b = 33; b <= 126; b++) printable.push(b);
  for (let b = 161; b <= 172; b++) printable.push(b);
  for (let b = 174; b <= 255; b++) printable.push(b);
  const map = new Array<string>(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) map[b] = String.fromCodePoint(printable.includes(b) ? b : 256 + extra++);
  return map;
}

let cached: ByteLevelBPE | null = null;

/**
 * OpenAI's GPT-2 tokenizer from `encoder.json` + `vocab.bpe` (shipped in assets/gpt2; Hugging
 * Face calls them vocab.json + merges.txt): the same ids as tiktoken's `gpt2` encoding, with
 * `<|endoftext|>` = 50256.
 * @example const enc = gpt2Tokenizer(); enc.encode('Hello, world') // [15496, 11, 995]
 */
export function gpt2Tokenizer(files: { encoder: string; merges: string } | string = ASSETS): ByteLevelBPE {
  const dir = typeof files === 'string' ? files : '';
  if (cached !== null && dir === ASSETS) return cached;
  const encoderFile = typeof files === 'string' ? `${files}/encoder.json` : files.encoder;
  const mergesFile = typeof files === 'string' ? `${files}/vocab.bpe` : files.merges;
  let encoder: Record<string, number>;
  try {
    encoder = JSON.parse(readFileSync(encoderFile, 'utf8')) as Record<string, number>;
  } catch (e) {
    throw new Error(`${encoderFile}: not a readable GPT-2 vocabulary (${(e as Error).message})`);
  }
  const lines = readFileSync(mergesFile, 'utf8').split('\n');
  const byteChars = bytesToUnicode();
  const byteIds = byteChars.map((c) => {
    const id = encoder[c];
    if (id === undefined) throw new Error(`${encoderFile}: no entry for byte symbol ${JSON.stringify(c)}`);
    return id;
  });
  const merges: [number, number, number][] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '' || line.startsWith('#version')) continue;
    const sep = line.indexOf(' ');
    const a = line.slice(0, sep), b = line.slice(sep + 1);
    const ia = encoder[a], ib = encoder[b], im = encoder[a + b];
    if (ia === undefined || ib === undefined || im === undefined) throw new Error(`${mergesFile} line ${i + 1}: merge '${line}' names tokens missing from ${encoderFile}`);
    merges.push([ia, ib, im]);
  }
  const tok = new ByteLevelBPE({ byteIds, merges, specialTokens: { '<|endoftext|>': 50256 }, pattern: GPT2_PATTERN, vocabSize: Object.keys(encoder).length }, 'gpt2');
  if (dir === ASSETS) cached = tok;
  return tok;
}
