import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ByteLevelBPE } from './bpe.ts';
import { gpt2FromTables } from './gpt2-tables.ts';

export { bytesToUnicode } from './gpt2-tables.ts';

const ASSETS = fileURLToPath(new URL('../../assets/gpt2/', import.meta.url));

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
  const tok = gpt2FromTables(encoder, readFileSync(mergesFile, 'utf8'), { encoder: encoderFile, merges: mergesFile });
  if (dir === ASSETS) cached = tok;
  return tok;
}
