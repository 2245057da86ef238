import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '@llmts/tensor/internal';
import { ByteLevelBPE } from './bpe.ts';
import { CharTokenizer } from './char.ts';
import { WordTokenizer } from './word.ts';
import { gpt2Tokenizer } from './gpt2.ts';
import type { Tokenizer, TokenizerJSON } from './tokenizer.ts';

/** Rebuild a tokenizer from its JSON form. */
export function tokenizerFromJSON(json: TokenizerJSON): Tokenizer {
  switch (json?.type) {
    case 'char': return new CharTokenizer(json.chars);
    case 'word': return new WordTokenizer(json.vocab);
    case 'gpt2': return gpt2Tokenizer();
    case 'bpe': {
      const merges = json.merges.map(([a, b], r) => [a, b, 256 + r] as [number, number, number]);
      const vocabSize = 256 + merges.length + Object.keys(json.specialTokens).length;
      return new ByteLevelBPE({ byteIds: Array.from({ length: 256 }, (_, b) => b), merges, specialTokens: json.specialTokens, pattern: json.pattern, vocabSize });
    }
    default:
      throw new Error(`tokenizer: unknown type ${JSON.stringify((json as { type?: unknown })?.type)} (valid: char, word, gpt2, bpe)`);
  }
}

/**
 * A tokenizer by name (`gpt2`) or from a tokenizer JSON file (written by `saveTokenizer` or by
 * `llmts prepare` as tokenizer.json).
 */
export function loadTokenizer(nameOrPath: string): Tokenizer {
  if (nameOrPath === 'gpt2') return gpt2Tokenizer();
  if (!existsSync(nameOrPath)) {
    throw new Error(`tokenizer: '${nameOrPath}' is neither a known name (gpt2) nor an existing tokenizer JSON file`);
  }
  let json: TokenizerJSON;
  try {
    json = JSON.parse(readFileSync(nameOrPath, 'utf8')) as TokenizerJSON;
  } catch (e) {
    throw new Error(`${nameOrPath}: not valid tokenizer JSON (${(e as Error).message})`);
  }
  try {
    return tokenizerFromJSON(json);
  } catch (e) {
    throw new Error(`${nameOrPath}: ${(e as Error).message}`);
  }
}

/** Write a tokenizer's JSON form atomically. */
export function saveTokenizer(tokenizer: Tokenizer, path: string): void {
  writeFileAtomic(path, `${JSON.stringify(tokenizer.toJSON())}\n`);
}
