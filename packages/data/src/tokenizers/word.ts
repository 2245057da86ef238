import type { Tokenizer, TokenizerJSON } from './tokenizer.ts';

const SPLIT = /([,.:;?_!"()']|--|\s)/;
const UNK = '<|unk|>';
const EOT = '<|endoftext|>';

/** The course's simple regex tokenizer (SimpleTokenizerV2): words and punctuation, with <|unk|> and <|endoftext|>. */
export class WordTokenizer implements Tokenizer {
  readonly kind = 'word';
  private readonly stoi: Map<string, number>;

  constructor(readonly vocab: readonly string[]) {
    this.stoi = new Map(vocab.map((w, i) => [w, i]));
    if (!this.stoi.has(UNK) || !this.stoi.has(EOT)) throw new Error(`WordTokenizer: the vocabulary must contain ${UNK} and ${EOT}`);
  }

  /** Split into words and punctuation (whitespace dropped). */
  static split(text: string): string[] {
    return text.split(SPLIT).map((s) => s.trim()).filter((s) => s.length > 0);
  }

  /** Vocabulary = sorted unique tokens of the corpus, then <|endoftext|> and <|unk|>. */
  static fromText(text: string): WordTokenizer {
    const words = [...new Set(WordTokenizer.split(text))].sort();
    return new WordTokenizer([...words, EOT, UNK]);
  }

  /** Number of entries in the vocabulary (unknown-word token included). */
  get vocabSize(): number {
    return this.vocab.length;
  }

  /** Ids of the words and punctuation of `text` (unknown words map to the unknown-word id). */
  encode(text: string): number[] {
    const unk = this.stoi.get(UNK)!;
    return WordTokenizer.split(text).map((w) => this.stoi.get(w) ?? unk);
  }

  /** Text for `ids`, words joined as the tokenizer split them. */
  decode(ids: ArrayLike<number>): string {
    const words: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const w = this.vocab[ids[i]!];
      if (w === undefined) throw new Error(`WordTokenizer: id ${ids[i]} is out of range (vocabulary ${this.vocab.length})`);
      words.push(w);
    }
    return words.join(' ').replace(/\s+([,.:;?!"()'])/g, '$1');
  }

  specialId(token: string): number | undefined {
    return token === EOT || token === UNK ? this.stoi.get(token) : undefined;
  }

  toJSON(): TokenizerJSON {
    return { type: 'word', vocab: [...this.vocab] };
  }
}
