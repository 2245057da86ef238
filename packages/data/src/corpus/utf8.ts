/**
 * Streaming UTF-8 validation that reports the absolute byte offset of the first bad byte
 * (TextDecoder's fatal mode says only that something was wrong).
 */
export class Utf8Validator {
  /** Bytes seen so far. */
  offset = 0;
  private need = 0;
  private cp = 0;
  private min = 0;
  private start = 0;

  /** Feed bytes; returns the offset of the first invalid byte, or -1. */
  push(bytes: Uint8Array): number {
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]!;
      const at = this.offset + i;
      if (this.need > 0) {
        if ((b & 0xc0) !== 0x80) return this.start;
        this.cp = (this.cp << 6) | (b & 0x3f);
        if (--this.need === 0 && (this.cp < this.min || this.cp > 0x10ffff || (this.cp >= 0xd800 && this.cp <= 0xdfff))) return this.start;
        continue;
      }
      if (b < 0x80) continue;
      this.start = at;
      if (b >= 0xc2 && b <= 0xdf) { this.need = 1; this.cp = b & 0x1f; this.min = 0x80; }
      else if (b >= 0xe0 && b <= 0xef) { this.need = 2; this.cp = b & 0x0f; this.min = 0x800; }
      else if (b >= 0xf0 && b <= 0xf4) { this.need = 3; this.cp = b & 0x07; this.min = 0x10000; }
      else return at;
    }
    this.offset += bytes.length;
    return -1;
  }

  /** At end of input: the offset of an unfinished sequence, or -1. */
  end(): number {
    return this.need > 0 ? this.start : -1;
  }
}
