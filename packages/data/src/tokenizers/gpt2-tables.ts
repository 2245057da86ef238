/**
 * GPT-2's byte-level BPE built from its two tables (encoder.json's token -> id map and vocab.bpe's
 * merges, as text), with no file access, so a browser page can build it from fetched bytes.
 */
import { ByteLevelBPE, GPT2_PATTERN } from './bpe.ts';

/** GPT-2's reversible byte -> printable-character map (bytes_to_unicode in OpenAI's encoder.py). */
export function bytesToUnicode(): string[] {
  const printable: number[] = [];
  for (let b = 33; b <= 126; b++) printable.push(b);
  for (let b = 161; b <= 172; b++) printable.push(b);
  for (let b = 174; b <= 255; b++) printable.push(b);
  const map = new Array<string>(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) map[b] = String.fromCodePoint(printable.includes(b) ? b : 256 + extra++);
  return map;
}

/**
 * GPT-2's tokenizer from encoder.json (parsed) and vocab.bpe (text); `names` label errors.
 * @example const tok = gpt2FromTables(await (await fetch('encoder.json')).json(), await (await fetch('vocab.bpe')).text());
 */
export function gpt2FromTables(encoder: Record<string, number>, mergesText: string, names = { encoder: 'encoder.json', merges: 'vocab.bpe' }): ByteLevelBPE {
  if (encoder === null || typeof encoder !== 'object' || Array.isArray(encoder)) throw new Error(`${names.encoder}: not a GPT-2 vocabulary (expected a JSON object of token -> id)`);
  const lines = mergesText.split('\n');
  const byteChars = bytesToUnicode();
  const byteIds = byteChars.map((c) => {
    const id = encoder[c];
    if (id === undefined) throw new Error(`${names.encoder}: no entry for byte symbol ${JSON.stringify(c)}`);
    return id;
  });
  const merges: [number, number, number][] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '' || line.startsWith('#version')) continue;
    const sep = line.indexOf(' ');
    const a = line.slice(0, sep), b = line.slice(sep + 1);
    const ia = encoder[a], ib = encoder[b], im = encoder[a + b];
    if (ia === undefined || ib === undefined || im === undefined) throw new Error(`${names.merges} line ${i + 1}: merge '${line}' names tokens missing from ${names.encoder}`);
    merges.push([ia, ib, im]);
  }
  return new ByteLevelBPE({ byteIds, merges, specialTokens: { '<|endoftext|>': 50256 }, pattern: GPT2_PATTERN, vocabSize: Object.keys(encoder).length }, 'gpt2');
}
