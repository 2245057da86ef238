import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadTokenizer, type Tokenizer } from '@llmts/data';
import type { Device } from '@llmts/tensor';
import type { ParsedArgs } from './args.ts';
import { loadGPT, type LoadedGPT } from '../checkpoint.ts';

export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** `gpt2`, a tokenizer JSON file, or a directory holding tokenizer.json (a prepared corpus or checkpoint). */
export function resolveTokenizer(spec: string): Tokenizer {
  if (spec !== 'gpt2' && existsSync(spec) && statSync(spec).isDirectory()) {
    const inside = join(spec, 'tokenizer.json');
    if (!existsSync(inside)) throw new Error(`tokenizer: directory '${spec}' has no tokenizer.json`);
    return loadTokenizer(inside);
  }
  return loadTokenizer(spec);
}

/** Parse ids from `[1, 2, 3]`, `1 2 3` or `1,2,3`. */
export function parseIds(text: string, what = 'ids'): number[] {
  const t = text.trim();
  if (t === '') return [];
  let values: unknown[];
  if (t.startsWith('[')) {
    try {
      values = JSON.parse(t) as unknown[];
    } catch {
      throw new Error(`${what}: not a valid JSON array`);
    }
    if (!Array.isArray(values)) throw new Error(`${what}: expected a list of integers`);
  } else {
    // words as written, so an error quotes what the user typed
    values = t.split(/[\s,]+/).filter(Boolean).map((w) => (/^\d+$/.test(w) && Number.isSafeInteger(Number(w)) ? Number(w) : w));
  }
  values.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new Error(`${what}: item ${i} (${typeof v === 'string' ? `'${v}'` : JSON.stringify(v)}) is not a non-negative integer`);
  });
  return values as number[];
}

/** The model of --checkpoint on --device, quantized when --quantize asks (said once on stderr). */
export function loadForInference(a: ParsedArgs): LoadedGPT {
  const quantize = a.quantize as 'int8' | 'int4' | undefined;
  const loaded = loadGPT(String(a.checkpoint), { ...(a.device !== undefined ? { device: a.device as Device } : {}), ...(quantize ? { quantize } : {}) });
  const q = loaded.quantized;
  if (q && process.env.LLMTS_QUIET !== '1') {
    const mib = (b: number) => (b / 2 ** 20).toFixed(1);
    process.stderr.write(`llmts: ${quantize} weights for ${q.layers} layers: ${mib(q.floatBytes)} MiB -> ${mib(q.quantizedBytes)} MiB\n`);
  }
  return loaded;
}
