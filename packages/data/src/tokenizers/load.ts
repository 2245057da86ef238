import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '@llmts/tensor/internal';
import { ByteLevelBPE } from './bpe.ts';
import { CharTokenizer } from './char.ts';
import { WordTokenizer } from './word.ts';
import { gpt2Tokenizer } from './gpt2.ts';
import type { Tokenizer, TokenizerJSON } from './tokenizer.ts';
import { fromHuggingFace, isHuggingFaceJSON, toHuggingFace } from './hf.ts';

const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');
const isId = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Check the fields of a tokenizer's JSON form, naming the one at fault. */
function checkJSON(json: Exclude<TokenizerJSON, { model: unknown }>): void {
  const bad = (field: string, want: string) => new Error(`tokenizer: '${field}' must be ${want}`);
  if (json.type === 'char' && !isStringArray(json.chars)) throw bad('chars', 'an array of characters');
  if (json.type === 'word' && !isStringArray(json.vocab)) throw bad('vocab', 'an array of strings');
  if (json.type === 'bpe') {
    if (typeof json.pattern !== 'string') throw bad('pattern', 'a regular expression string');
    if (!Array.isArray(json.merges) || !json.merges.every((m) => Array.isArray(m) && m.length === 2 && isId(m[0]) && isId(m[1]))) throw bad('merges', 'an array of [id, id] pairs');
    const special = json.specialTokens as unknown;
    if (special === null || typeof special !== 'object' || Array.isArray(special) || !Object.values(special).every(isId)) throw bad('specialTokens', 'an object of token ids');
  }
}

/** Rebuild a tokenizer from its JSON form. @example tokenizerFromJSON({ type: 'gpt2' }) */
export function tokenizerFromJSON(json: TokenizerJSON): Tokenizer {
  if (json === null || typeof json !== 'object') throw new Error('tokenizer: expected a JSON object with a "type" (llm.ts) or a "model" (Hugging Face)');
  if (isHuggingFaceJSON(json)) return fromHuggingFace(json);
  checkJSON(json);
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

/**
 * Write a tokenizer atomically as a Hugging Face tokenizer.json (character and byte-level BPE
 * tokenizers), or in llm.ts's own form for kinds Hugging Face cannot express.
 * @example saveTokenizer(tok, 'runs/shk/best/tokenizer.json')
 */
export function saveTokenizer(tokenizer: Tokenizer, path: string): void {
  writeFileAtomic(path, `${JSON.stringify(toHuggingFace(tokenizer) ?? tokenizer.toJSON())}\n`);
}
