import type { EncodeOptions, Tokenizer, TokenizerJSON } from './tokenizer.ts';

/**
 * Character-level tokenizer: the vocabulary is the sorted set of characters (code points) of a
 * corpus, as in the course's `chars = sorted(list(set(text)))`.
 * @example const tok = CharTokenizer.fromText(text); tok.decode(tok.encode('hii there'))
 */
export class CharTokenizer implements Tokenizer {
  readonly kind = 'char';
  private readonly stoi: Map<string, number>;

  constructor(readonly chars: readonly string[]) {
    this.stoi = new Map(chars.map((c, i) => [c, i]));
    if (this.stoi.size !== chars.length) throw new Error('CharTokenizer: characters must be unique');
  }

  /** Build from a corpus (or several chunks of one). */
  static fromText(...texts: string[]): CharTokenizer {
    const set = new Set<string>();
    for (const t of texts) for (const c of t) set.add(c);
    return new CharTokenizer(sortCodePoints(set));
  }

  /** Number of characters in the vocabulary. */
  get vocabSize(): number {
    return this.chars.length;
  }

  /**
   * Ids of the characters of `text`; a character outside the vocabulary is an error naming it and
   * its position, or left out with `{ unknown: 'skip' }`.
   */
  encode(text: string, options: EncodeOptions = {}): number[] {
    const out: number[] = [];
    let pos = 0;
    for (const c of text) {
      const id = this.stoi.get(c);
      if (id === undefined) {
        if (options.unknown === 'skip') {
          pos++;
          continue;
        }
        throw new Error(`CharTokenizer: character ${JSON.stringify(c)} (U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}) at position ${pos} is not in the vocabulary of ${this.chars.length} characters`);
      }
      out.push(id);
      pos++;
    }
    return out;
  }

  /** The characters of `ids`; an unknown id is an error. */
  decode(ids: ArrayLike<number>): string {
    let s = '';
    for (let i = 0; i < ids.length; i++) {
      const c = this.chars[ids[i]!];
      if (c === undefined) throw new Error(`CharTokenizer: id ${ids[i]} is out of range (vocabulary ${this.chars.length})`);
      s += c;
    }
    return s;
  }

  specialId(): undefined {
    return undefined;
  }

  toJSON(): TokenizerJSON {
    return { type: 'char', chars: [...this.chars] };
  }
}

/** Sort strings by code point (Python's order for `sorted(set(text))`). */
export function sortCodePoints(items: Iterable<string>): string[] {
  return [...items].sort((a, b) => {
    const x = a.codePointAt(0)!, y = b.codePointAt(0)!;
    return x - y || (a < b ? -1 : a > b ? 1 : 0);
  });
}

/**
 * Characters of `texts` that `tokenizer` cannot encode, with how often each occurs (empty for
 * byte-level tokenizers, which encode everything).
 * @example unknownCharacters(charTok, ['café']) // Map { 'é' => 1 }
 */
export function unknownCharacters(tokenizer: Tokenizer, texts: Iterable<string>): Map<string, number> {
  const verdict = new Map<string, boolean>();
  const out = new Map<string, number>();
  for (const text of texts) {
    for (const c of text) {
      let known = verdict.get(c);
      if (known === undefined) {
        try {
          tokenizer.encode(c, { specialAsText: true });
          known = true;
        } catch {
          known = false;
        }
        verdict.set(c, known);
      }
      if (!known) out.set(c, (out.get(c) ?? 0) + 1);
    }
  }
  return out;
}
