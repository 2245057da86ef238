import type { Tokenizer } from '@llmts/data';

/**
 * Streams decoded text token by token without splitting multi-byte characters: text is emitted
 * only up to the last complete character; the rest waits for the next token.
 * @example const s = new TextStream(tokenizer, (text) => process.stdout.write(text)); s.push(id); s.end();
 */
export class TextStream {
  private ids: number[] = [];
  private emitted = 0;

  constructor(private readonly tokenizer: Tokenizer, private readonly write: (s: string) => void) {}

  /** Add a token; writes the text it completes (none while a character's bytes are still arriving). */
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

  /** Write whatever is left (an incomplete character as U+FFFD) and start afresh. */
  end(): void {
    const text = this.tokenizer.decode(this.ids);
    if (text.length > this.emitted) this.write(text.slice(this.emitted));
    this.ids = [];
    this.emitted = 0;
  }
}
