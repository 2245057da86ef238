/**
 * Tokenizers from their JSON form, with no file access (the browser entry's door to checkpoints'
 * tokenizer.json).
 */
import { ByteLevelBPE } from './bpe.ts';
import { CharTokenizer } from './char.ts';
import { WordTokenizer } from './word.ts';
import type { Tokenizer, TokenizerJSON } from './tokenizer.ts';
import { fromHuggingFace, isHuggingFaceJSON } from './hf.ts';

function noGPT2Tables(): never {
  throw new Error("tokenizer: type 'gpt2' names GPT-2's tables, which are not loaded here: build it with gpt2FromTables(encoder.json, vocab.bpe)");
}

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

/**
 * Rebuild a tokenizer from its JSON form (llm.ts's or a Hugging Face tokenizer.json). The 'gpt2'
 * kind names GPT-2's tables rather than holding them: `gpt2` supplies them (Node reads the shipped
 * files; a page builds them with gpt2FromTables).
 * @example tokenizerFromJSON(JSON.parse(text))
 */
export function tokenizerFromJSON(json: TokenizerJSON, gpt2: () => Tokenizer = noGPT2Tables): Tokenizer {
  if (json === null || typeof json !== 'object') throw new Error('tokenizer: expected a JSON object with a "type" (llm.ts) or a "model" (Hugging Face)');
  if (isHuggingFaceJSON(json)) return fromHuggingFace(json);
  checkJSON(json);
  switch (json?.type) {
    case 'char': return new CharTokenizer(json.chars);
    case 'word': return new WordTokenizer(json.vocab);
    case 'gpt2': return gpt2();
    case 'bpe': {
      const merges = json.merges.map(([a, b], r) => [a, b, 256 + r] as [number, number, number]);
      const vocabSize = 256 + merges.length + Object.keys(json.specialTokens).length;
      return new ByteLevelBPE({ byteIds: Array.from({ length: 256 }, (_, b) => b), merges, specialTokens: json.specialTokens, pattern: json.pattern, vocabSize });
    }
    default:
      throw new Error(`tokenizer: unknown type ${JSON.stringify((json as { type?: unknown })?.type)} (valid: char, word, gpt2, bpe)`);
  }
}

