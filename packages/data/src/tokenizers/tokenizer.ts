import type { HFTokenizerJSON } from './hf.ts';

/** What every tokenizer offers: text to ids and back, a vocabulary size, and a JSON form. */
export interface EncodeOptions {
  /**
   * Special tokens (like `<|endoftext|>`) that may appear in the text and become their ids;
   * 'all' allows every one. Special-token text that is not allowed is an error, as in tiktoken,
   * unless `specialAsText` is set.
   */
  allowedSpecial?: 'all' | readonly string[];
  /** Encode special-token text as ordinary text instead of failing. */
  specialAsText?: boolean;
  /**
   * What a character-level tokenizer does with a character outside its vocabulary: 'error' (the
   * default) or 'skip' it. Byte-level tokenizers encode every text and ignore this.
   */
  unknown?: 'error' | 'skip';
}

export interface Tokenizer {
  /** 'char', 'word', 'bpe' or 'gpt2'. */
  readonly kind: string;
  readonly vocabSize: number;
  encode(text: string, options?: EncodeOptions): number[];
  decode(ids: ArrayLike<number>): string;
  /** Id of a special token such as `<|endoftext|>`, or undefined. */
  specialId(token: string): number | undefined;
  /** A JSON-able description from which `tokenizerFromJSON` rebuilds the tokenizer. */
  toJSON(): TokenizerJSON;
}

/** llm.ts's compact forms, or a Hugging Face tokenizer.json (see `toHuggingFace`). */
export type TokenizerJSON =
  | { type: 'char'; chars: string[] }
  | { type: 'word'; vocab: string[] }
  | { type: 'gpt2' }
  | { type: 'bpe'; pattern: string; merges: [number, number][]; specialTokens: Record<string, number> }
  | HFTokenizerJSON;
