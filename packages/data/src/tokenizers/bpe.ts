import type { EncodeOptions, Tokenizer, TokenizerJSON } from './tokenizer.ts';
import { toHuggingFace } from './hf.ts';

/**
 * Unicode White_Space, which tiktoken's regex engine means by `\s` (JavaScript's `\s` lacks
 * U+0085 and adds U+FEFF, so the class is spelled out).
 */
const WS = '\\t\\n\\v\\f\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';

/** GPT-2's pre-tokenizer: contractions, letter runs, digit runs, other symbols, whitespace. */
export const GPT2_PATTERN = `'(?:[sdmt]|ll|ve|re)| ?\\p{L}+| ?\\p{N}+| ?[^${WS}\\p{L}\\p{N}]+|[${WS}]+(?![^${WS}])|[${WS}]+`;

export interface BpeTables {
  /** Token id of each byte value 0..255. */
  byteIds: readonly number[];
  /** Merges in rank order: [left id, right id, merged id]. */
  merges: readonly (readonly [number, number, number])[];
  specialTokens: Readonly<Record<string, number>>;
  pattern: string;
  vocabSize: number;
}

const KEY = 1048576; // 2^20: ids stay below this

/**
 * Byte-level BPE as GPT-2 uses it: text is split by the pre-tokenizer regex, each piece's UTF-8
 * bytes become byte tokens, and adjacent pairs are merged lowest rank first. Pieces are cached.
 */
export class ByteLevelBPE implements Tokenizer {
  readonly vocabSize: number;
  private readonly byteIds: Int32Array;
  private readonly ranks = new Map<number, number>();
  private readonly mergedIds: Int32Array;
  private readonly tokenBytes: Uint8Array[];
  private readonly special: Map<string, number>;
  private readonly specialById: Map<number, string>;
  private readonly regex: RegExp;
  private readonly cache = new Map<string, number[]>();
  private readonly encoder = new TextEncoder();
  private readonly decoder = new TextDecoder('utf-8');

  constructor(readonly tables: BpeTables, readonly kind: 'bpe' | 'gpt2' = 'bpe') {
    this.vocabSize = tables.vocabSize;
    this.byteIds = Int32Array.from(tables.byteIds);
    if (this.byteIds.length !== 256) throw new Error(`ByteLevelBPE: expected 256 byte ids, got ${this.byteIds.length}`);
    this.mergedIds = new Int32Array(tables.merges.length);
    this.tokenBytes = new Array(tables.vocabSize);
    for (let b = 0; b < 256; b++) this.tokenBytes[this.byteIds[b]!] = Uint8Array.of(b);
    tables.merges.forEach(([a, b, m], r) => {
      const key = a * KEY + b;
      if (!this.ranks.has(key)) this.ranks.set(key, r);
      this.mergedIds[r] = m;
      const left = this.tokenBytes[a], right = this.tokenBytes[b];
      if (left === undefined || right === undefined) throw new Error(`ByteLevelBPE: merge ${r} uses a token (${a} or ${b}) defined by no earlier merge`);
      const bytes = new Uint8Array(left.length + right.length);
      bytes.set(left);
      bytes.set(right, left.length);
      this.tokenBytes[m] = bytes;
    });
    this.special = new Map(Object.entries(tables.specialTokens));
    this.specialById = new Map([...this.special].map(([t, id]) => [id, t]));
    this.regex = new RegExp(tables.pattern, 'gu');
  }

  specialId(token: string): number | undefined {
    return this.special.get(token);
  }

  /** The pre-tokenizer's pieces of `text`. */
  pieces(text: string): string[] {
    return text.match(this.regex) ?? [];
  }

  /**
   * Where `text` can be cut so that encoding the two parts separately equals encoding it whole:
   * the start of its last piece (that piece could still grow with more text).
   */
  safeCut(text: string): number {
    let last = 0;
    this.regex.lastIndex = 0;
    for (const m of text.matchAll(this.regex)) last = m.index!;
    // never cut inside a special token
    const lt = text.lastIndexOf('<|', text.length - 1);
    if (lt >= 0 && text.indexOf('|>', lt) < 0 && lt < last) last = lt;
    return last;
  }

  /** Encode without special tokens (their text is ordinary text). */
  encodeOrdinary(text: string, out: number[] = []): number[] {
    for (const piece of text.match(this.regex) ?? []) {
      let ids = this.cache.get(piece);
      if (ids === undefined) {
        ids = this.mergePiece(this.encoder.encode(piece));
        if (this.cache.size > 200_000) this.cache.clear();
        this.cache.set(piece, ids);
      }
      for (let i = 0; i < ids.length; i++) out.push(ids[i]!);
    }
    return out;
  }

  /** Byte-level BPE ids of `text` (special tokens only where `allowedSpecial` permits). */
  encode(text: string, options: EncodeOptions = {}): number[] {
    if (this.special.size === 0 || options.specialAsText) return this.encodeOrdinary(text);
    const allowed = options.allowedSpecial === 'all' ? [...this.special.keys()] : [...(options.allowedSpecial ?? [])];
    for (const tok of this.special.keys()) {
      if (!allowed.includes(tok) && text.includes(tok)) {
        throw new Error(`encode: the text contains the special token ${tok}; pass { allowedSpecial: ['${tok}'] } (or 'all') to encode it as its id, or { specialAsText: true } to encode it as text`);
      }
    }
    if (allowed.length === 0) return this.encodeOrdinary(text);
    const splitter = new RegExp(allowed.map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g');
    const out: number[] = [];
    let at = 0;
    for (const m of text.matchAll(splitter)) {
      this.encodeOrdinary(text.slice(at, m.index!), out);
      out.push(this.special.get(m[0])!);
      at = m.index! + m[0].length;
    }
    this.encodeOrdinary(text.slice(at), out);
    return out;
  }

  /** Merge the byte tokens of one piece, lowest-ranked pair first. */
  private mergePiece(bytes: Uint8Array): number[] {
    let ids: number[] = Array.from(bytes, (b) => this.byteIds[b]!);
    while (ids.length > 1) {
      let best = Infinity;
      for (let i = 0; i + 1 < ids.length; i++) {
        const r = this.ranks.get(ids[i]! * KEY + ids[i + 1]!);
        if (r !== undefined && r < best) best = r;
      }
      if (best === Infinity) break;
      const [a, b] = this.tables.merges[best]!;
      const m = this.mergedIds[best]!;
      const next: number[] = [];
      for (let i = 0; i < ids.length; i++) {
        if (i + 1 < ids.length && ids[i] === a && ids[i + 1] === b) {
          next.push(m);
          i++;
        } else next.push(ids[i]!);
      }
      ids = next;
    }
    return ids;
  }

  /** The bytes of a sequence of ids (special tokens as their text). */
  decodeBytes(ids: ArrayLike<number>): Uint8Array {
    let n = 0;
    const parts: Uint8Array[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      let bytes = this.tokenBytes[id];
      if (bytes === undefined) {
        const sp = this.specialById.get(id);
        if (sp === undefined) throw new Error(`decode: id ${id} is not in the vocabulary of ${this.vocabSize}`);
        bytes = this.encoder.encode(sp);
      }
      parts.push(bytes);
      n += bytes.length;
    }
    const out = new Uint8Array(n);
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  }

  /** Text for `ids` (bytes that do not form UTF-8 become U+FFFD). */
  decode(ids: ArrayLike<number>): string {
    return this.decoder.decode(this.decodeBytes(ids));
  }

  /** Bytes of one token (for streaming output that must not split UTF-8 sequences). */
  tokenToBytes(id: number): Uint8Array {
    return this.decodeBytes([id]);
  }

  /** The compact form: `gpt2`, or the merges when byte ids are 0..255; else the Hugging Face form. */
  toJSON(): TokenizerJSON {
    if (this.kind === 'gpt2') return { type: 'gpt2' };
    const byteIdentity = this.tables.byteIds.every((id, b) => id === b);
    if (!byteIdentity) {
      const hf = toHuggingFace(this);
      if (hf === null) throw new Error('ByteLevelBPE.toJSON: tokens that repeat a byte string cannot be written');
      return hf;
    }
    return { type: 'bpe', pattern: this.tables.pattern, merges: this.tables.merges.map(([a, b]) => [a, b]), specialTokens: { ...this.tables.specialTokens } };
  }
}
