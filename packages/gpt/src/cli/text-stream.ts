import type { Tokenizer } from '@llmts/data';

/**
 * Streams decoded text token by token without splitting multi-byte characters: text is emitted
 * only up to the last complete character; the rest waits for the next token.
 */
export class TextStream {
  private ids: number[] = [];
  private emitted = 0;

  constructor(private readonly tokenizer: Tokenizer, private readonly write: (s: string) => void) {}

  push(id: number): void {
    this.ids.push(id);
    const text = this.tokenizer.decode(this.ids);
    // a trailing U+FFFD may be a character whose bytes have not all arrived
    const stable = text.endsWith('\ufffd') ? text.replace(/\ufffd+$/, '') : text;
    if (stable.length > this.emitted) {
      this.write(stable.slice(this.emitted));
      this.emitted = stable.length;
    }
    if (this.ids.length > 64 && !text.endsWith('\ufffd')) {
      this.ids = [];
      this.emitted = 0;
    }
  }

  end(): void {
    const text = this.tokenizer.decode(this.ids);
    if (text.length > this.emitted) this.write(text.slice(this.emitted));
    this.ids = [];
    this.emitted = 0;
  }
}
