import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '@llmts/tensor/internal';
import { gpt2Tokenizer } from './gpt2.ts';
import type { Tokenizer, TokenizerJSON } from './tokenizer.ts';
import { toHuggingFace } from './hf.ts';
import { tokenizerFromJSON as fromJSON } from './from-json.ts';

/** Rebuild a tokenizer from its JSON form (GPT-2's tables read from the shipped files). @example tokenizerFromJSON({ type: 'gpt2' }) */
export function tokenizerFromJSON(json: TokenizerJSON): Tokenizer {
  return fromJSON(json, gpt2Tokenizer);
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
