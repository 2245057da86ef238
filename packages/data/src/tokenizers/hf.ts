/**
 * The Hugging Face `tokenizers` JSON form (tokenizer.json) of our tokenizers, both ways, so a
 * checkpoint's tokenizer loads with `PreTrainedTokenizerFast(tokenizer_file=…)` and one made there
 * loads here. Byte-level BPE maps to a BPE model with the ByteLevel pre-tokenizer and decoder
 * (tokens spelled with GPT-2's byte-to-character table); the character tokenizer maps to a
 * WordLevel model that splits every character and fuses them back.
 */
import { ByteLevelBPE, GPT2_PATTERN } from './bpe.ts';
import { CharTokenizer } from './char.ts';
import { bytesToUnicode } from './gpt2-tables.ts';
import type { Tokenizer } from './tokenizer.ts';

/** The parts of a tokenizer.json this module writes and reads. */
export interface HFTokenizerJSON {
  version: string;
  added_tokens: { id: number; content: string; single_word: boolean; lstrip: boolean; rstrip: boolean; normalized: boolean; special: boolean }[];
  normalizer: null;
  pre_tokenizer: Record<string, unknown> | null;
  post_processor: Record<string, unknown> | null;
  decoder: Record<string, unknown> | null;
  model: Record<string, unknown> & { type: string };
}

/** Every single character, newlines included, as one piece (Oniguruma and JavaScript read it alike). */
const EACH_CHARACTER = '[\\s\\S]';

const byteLevel = (useRegex: boolean) => ({ type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: useRegex });

/** Whether `json` is in the Hugging Face form (a `model` object) rather than llm.ts's own. */
export function isHuggingFaceJSON(json: unknown): json is HFTokenizerJSON {
  return json !== null && typeof json === 'object' && typeof (json as { model?: { type?: unknown } }).model?.type === 'string';
}

/**
 * The tokenizer.json of a character or byte-level BPE tokenizer (null for kinds Hugging Face
 * cannot express, such as the course's word tokenizer, or a BPE whose tokens repeat a byte string).
 * @example writeFileSync('tokenizer.json', JSON.stringify(toHuggingFace(gpt2Tokenizer())))
 */
export function toHuggingFace(tok: Tokenizer): HFTokenizerJSON | null {
  if (tok instanceof CharTokenizer) {
    return {
      version: '1.0', added_tokens: [], normalizer: null,
      pre_tokenizer: { type: 'Split', pattern: { Regex: EACH_CHARACTER }, behavior: 'Isolated', invert: false },
      post_processor: null,
      decoder: { type: 'Fuse' },
      model: { type: 'WordLevel', vocab: Object.fromEntries(tok.chars.map((c, i) => [c, i])), unk_token: '<unk>' },
    };
  }
  if (!(tok instanceof ByteLevelBPE)) return null;
  const chars = bytesToUnicode();
  const spell = (id: number) => Array.from(tok.tokenToBytes(id), (b) => chars[b]!).join('');
  const specials = new Map(Object.entries(tok.tables.specialTokens).map(([content, id]) => [id, content]));
  const vocab: Record<string, number> = {};
  for (let id = 0; id < tok.vocabSize; id++) {
    if (specials.has(id)) continue;
    const s = spell(id);
    if (s in vocab) return null; // two ids for one byte string: tokenizer.json cannot say that
    vocab[s] = id;
  }
  const pre = tok.tables.pattern === GPT2_PATTERN
    ? byteLevel(true)
    : { type: 'Sequence', pretokenizers: [{ type: 'Split', pattern: { Regex: tok.tables.pattern }, behavior: 'Isolated', invert: false }, byteLevel(false)] };
  return {
    version: '1.0',
    added_tokens: [...specials].map(([id, content]) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: null,
    pre_tokenizer: pre,
    post_processor: byteLevel(true),
    decoder: byteLevel(true),
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, ignore_merges: false,
      vocab,
      merges: tok.tables.merges.map(([a, b]) => `${spell(a)} ${spell(b)}`),
    },
  };
}

/** The Split regex of a pre-tokenizer (or of the first Split in a Sequence), if any. */
function splitPattern(pre: Record<string, unknown> | null | undefined): string | undefined {
  if (pre === null || pre === undefined) return undefined;
  if (pre.type === 'Split') return (pre.pattern as { Regex?: string } | undefined)?.Regex;
  if (pre.type === 'Sequence') for (const p of (pre.pretokenizers as Record<string, unknown>[] | undefined) ?? []) { const r = splitPattern(p); if (r !== undefined) return r; }
  return undefined;
}

function hasByteLevel(pre: Record<string, unknown> | null | undefined): { regex: boolean } | null {
  if (pre === null || pre === undefined) return null;
  if (pre.type === 'ByteLevel') return { regex: pre.use_regex !== false };
  if (pre.type === 'Sequence') for (const p of (pre.pretokenizers as Record<string, unknown>[] | undefined) ?? []) { const r = hasByteLevel(p); if (r) return r; }
  return null;
}

/**
 * A tokenizer from a Hugging Face tokenizer.json: byte-level BPE (GPT-2 and the like) or a
 * character WordLevel model. Anything else is an error saying what is unsupported.
 */
export function fromHuggingFace(json: HFTokenizerJSON): Tokenizer {
  const model = json.model;
  const added = Array.isArray(json.added_tokens) ? json.added_tokens : [];
  if (model.type === 'WordLevel') {
    const vocab = model.vocab as Record<string, number> | undefined;
    if (vocab === null || typeof vocab !== 'object') throw new Error("tokenizer: WordLevel 'model.vocab' must be an object");
    const entries = Object.entries(vocab).sort((a, b) => a[1] - b[1]);
    if (splitPattern(json.pre_tokenizer) !== EACH_CHARACTER || entries.some(([c, id], i) => id !== i || [...c].length !== 1)) {
      throw new Error('tokenizer: only WordLevel models over single characters (ids 0..n-1) are supported');
    }
    return new CharTokenizer(entries.map(([c]) => c));
  }
  if (model.type !== 'BPE') throw new Error(`tokenizer: model type '${model.type}' is not supported (BPE with ByteLevel, or character WordLevel)`);
  const level = hasByteLevel(json.pre_tokenizer);
  if (level === null) throw new Error('tokenizer: only byte-level BPE (a ByteLevel pre-tokenizer) is supported');
  const vocab = model.vocab as Record<string, number> | undefined;
  if (vocab === null || typeof vocab !== 'object') throw new Error("tokenizer: BPE 'model.vocab' must be an object");
  const chars = bytesToUnicode();
  const byteIds = chars.map((c, b) => {
    const id = vocab[c];
    if (id === undefined) throw new Error(`tokenizer: the BPE vocabulary has no token for byte ${b} (${JSON.stringify(c)})`);
    return id;
  });
  const rawMerges = model.merges as (string | [string, string])[] | undefined;
  if (!Array.isArray(rawMerges)) throw new Error("tokenizer: BPE 'model.merges' must be an array");
  const merges = rawMerges.map((m, r): [number, number, number] => {
    const [a, b] = typeof m === 'string' ? [m.slice(0, m.indexOf(' ')), m.slice(m.indexOf(' ') + 1)] : m;
    const ia = vocab[a!], ib = vocab[b!], im = vocab[a! + b!];
    if (ia === undefined || ib === undefined || im === undefined) throw new Error(`tokenizer: merge ${r} (${JSON.stringify(m)}) names tokens missing from the vocabulary`);
    return [ia, ib, im];
  });
  const specialTokens = Object.fromEntries(added.filter((t) => t.special).map((t) => [t.content, t.id]));
  const ids = [...Object.values(vocab), ...Object.values(specialTokens)];
  const vocabSize = Math.max(...ids) + 1;
  const pattern = level.regex ? GPT2_PATTERN : splitPattern(json.pre_tokenizer) ?? GPT2_PATTERN;
  const isGpt2 = vocabSize === 50257 && merges.length === 50000 && specialTokens['<|endoftext|>'] === 50256 && pattern === GPT2_PATTERN;
  return new ByteLevelBPE({ byteIds, merges, specialTokens, pattern, vocabSize }, isGpt2 ? 'gpt2' : 'bpe');
}
