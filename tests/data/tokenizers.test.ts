import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getEncoding } from 'js-tiktoken';
import { CharTokenizer, WordTokenizer, gpt2Tokenizer, trainBpe, loadTokenizer, saveTokenizer, tokenizerFromJSON } from '@llmts/data';

const gpt2 = gpt2Tokenizer();
const oracle = getEncoding('gpt2');
const read = (p: string) => readFileSync(new URL(`../../data/${p}`, import.meta.url), 'utf8');
/** js-tiktoken spells `\s` the JavaScript way; real tiktoken (Rust) means Unicode White_Space. They differ only on these two. */
const JS_REGEX_QUIRKS = /[\u0085\ufeff]/u;

describe('character tokenizer', () => {
  it('is the sorted set of characters of the corpus and round-trips', () => {
    const text = read('tinyshakespeare.txt');
    const tok = CharTokenizer.fromText(text);
    expect(tok.vocabSize).toBe(65);
    expect(tok.chars.slice(0, 3)).toEqual(['\n', ' ', '!']);
    expect(tok.encode('hii there')).toEqual([46, 47, 47, 1, 58, 46, 43, 56, 43]);
    expect(tok.decode(tok.encode(text))).toBe(text);
    expect(() => tok.encode('héllo')).toThrow(/character "é" \(U\+00E9\) at position 1 is not in the vocabulary of 65 characters/);
    expect(CharTokenizer.fromText('b😀a').chars).toEqual(['a', 'b', '😀']);
  });
});

describe('regex word tokenizer (the course\'s SimpleTokenizerV2)', () => {
  it('splits words and punctuation, maps unknown words to <|unk|>, and rejoins punctuation', () => {
    const tok = WordTokenizer.fromText(read('the-verdict.txt'));
    expect(tok.vocabSize).toBe(1132);
    const text = 'Hello, do you like tea? <|endoftext|> In the sunlit terraces of the palace.';
    const ids = tok.encode(text);
    expect(ids).toEqual([1131, 5, 355, 1126, 628, 975, 10, 1130, 55, 988, 956, 984, 722, 988, 1131, 7]);
    expect(tok.decode(ids)).toBe('<|unk|>, do you like tea? <|endoftext|> In the sunlit terraces of the <|unk|>.');
  });
});

describe('GPT-2 byte-level BPE: the ids of OpenAI\'s tokenizer (js-tiktoken as oracle)', () => {
  it('matches on the shipped corpora', () => {
    for (const name of ['tinyshakespeare.txt', 'the-verdict.txt', 'wizard_of_oz.txt', 'instruction-data.json', 'sms_spam.tsv']) {
      const text = read(name);
      if (JS_REGEX_QUIRKS.test(text)) continue;
      const ours = gpt2.encode(text, { specialAsText: true });
      const theirs = oracle.encode(text, [], []);
      expect(ours.length, name).toBe(theirs.length);
      expect(ours, name).toEqual(theirs);
      expect(gpt2.decode(ours)).toBe(text);
    }
  });

  it('matches on adversarial inputs', () => {
    const cases = [
      '', ' ', '   ', '\n\n\n', 'Hello\n\nworld', "I'm I'LL we've they'RE don't", '  leading and trailing  ', 'tab\there\t\t', 'a\r\nb',
      '1234567890 3.14159 1e10 ١٢٣', '🤖👍🏽👨‍👩‍👧‍👦 flags 🇫🇷', 'naïve café résumé', 'e\u0301 combining', '日本語のテキスト', '한국어', 'Ελληνικά', 'עברית',
      '\u00a0nbsp\u2003em\u3000ideographic', 'x'.repeat(5000), ' '.repeat(300) + 'x', '!!!???...,,,', "''''", '<|endoftext', '<|endoftext|>', 'zero\u200bwidth',
      '\u{10ffff}\u{1f600}\u{e0001}', '\ud83d\ude00', 'mixed123abc456DEF', '$%^&*()_+-=[]{}|;:",.<>/?`~',
    ];
    for (const text of cases) {
      expect(gpt2.encode(text, { specialAsText: true }), JSON.stringify(text).slice(0, 40)).toEqual(oracle.encode(text, [], []));
      expect(gpt2.decode(gpt2.encode(text, { specialAsText: true }))).toBe(text);
    }
  });

  it('matches on random Unicode text and round-trips it (property)', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 80 }), fc.string({ unit: 'binary', maxLength: 40 }), (a, b) => {
      for (const text of [a, b, `${a} ${b}`]) {
        if (JS_REGEX_QUIRKS.test(text) || /[\ud800-\udfff]/u.test(text.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ''))) continue;
        const ours = gpt2.encode(text, { specialAsText: true });
        expect(ours).toEqual(oracle.encode(text, [], []));
        expect(gpt2.decode(ours)).toBe(text);
      }
    }), { numRuns: 400 });
  });

  it('treats U+0085 and U+FEFF as tiktoken does (Unicode White_Space), not as JavaScript\'s \\s', () => {
    // U+0085 is White_Space: "a \u0085b" pre-tokenizes as "a", " \u0085", "b" with whitespace runs
    expect(gpt2.pieces('a \u0085b')).toEqual(['a', ' ', '\u0085', 'b']);
    // U+FEFF is not White_Space: it is punctuation-like, so " \ufeff" is one piece
    expect(gpt2.pieces('a \ufeffb')).toEqual(['a', ' \ufeff', 'b']);
    expect(gpt2.decode(gpt2.encode('a \u0085b \ufeff'))).toBe('a \u0085b \ufeff');
  });

  it('handles <|endoftext|> as a special token only when allowed', () => {
    const text = 'Hello<|endoftext|>world';
    expect(() => gpt2.encode(text)).toThrow(/contains the special token <\|endoftext\|>.*allowedSpecial/);
    expect(gpt2.encode(text, { allowedSpecial: 'all' })).toEqual([15496, 50256, 6894]);
    expect(gpt2.encode(text, { allowedSpecial: ['<|endoftext|>'] })).toEqual(oracle.encode(text, ['<|endoftext|>']));
    expect(gpt2.encode(text, { specialAsText: true })).toEqual(oracle.encode(text, [], []));
    expect(gpt2.decode([15496, 50256])).toBe('Hello<|endoftext|>');
    expect(gpt2.vocabSize).toBe(50257);
    expect(() => gpt2.decode([50257])).toThrow(/id 50257 is not in the vocabulary of 50257/);
  });

  it('cuts streamed text only where encoding the parts equals encoding the whole (property)', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 60 }), fc.string({ unit: 'grapheme', maxLength: 60 }), (a, b) => {
      const whole = gpt2.encode(a + b, { specialAsText: true });
      const cut = gpt2.safeCut(a);
      const parts = [...gpt2.encode(a.slice(0, cut), { specialAsText: true }), ...gpt2.encode(a.slice(cut) + b, { specialAsText: true })];
      expect(parts).toEqual(whole);
    }), { numRuns: 300 });
  });
});

describe('BPE trainer', () => {
  it('learns merges to the target size, round-trips, and saves/loads', () => {
    const text = read('the-verdict.txt');
    const tok = trainBpe(text, { vocabSize: 600, specialTokens: ['<|endoftext|>'] });
    expect(tok.vocabSize).toBe(600);
    expect(tok.specialId('<|endoftext|>')).toBe(599);
    const ids = tok.encode(text, { specialAsText: true });
    expect(ids.length).toBeLessThan(new TextEncoder().encode(text).length / 2);
    expect(tok.decode(ids)).toBe(text);
    expect(tok.decode(tok.encode('unseen words: zyxw 😀'))).toBe('unseen words: zyxw 😀');
    const dir = mkdtempSync(join(tmpdir(), 'bpe-'));
    saveTokenizer(tok, join(dir, 'tok.json'));
    const back = loadTokenizer(join(dir, 'tok.json'));
    expect(back.encode(text, { specialAsText: true })).toEqual(ids);
    expect(tokenizerFromJSON(tok.toJSON()).vocabSize).toBe(600);
    expect(trainBpe(text, { vocabSize: 600, specialTokens: ['<|endoftext|>'] }).toJSON()).toEqual(tok.toJSON());
  });

  it('rejects impossible sizes and unknown tokenizer files clearly', () => {
    expect(() => trainBpe('abc', { vocabSize: 100 })).toThrow(/smaller than the 256 byte tokens/);
    expect(() => loadTokenizer('/nonexistent/tok.json')).toThrow(/neither a known name \(gpt2\) nor an existing tokenizer JSON file/);
  });
});
