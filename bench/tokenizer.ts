/**
 * GPT-2 tokenizer throughput on Tiny Shakespeare: ours next to js-tiktoken in the same run
 * (both must produce the same ids; the run fails otherwise).
 */
import { Bench } from 'tinybench';
import { readFileSync } from 'node:fs';
import { getEncoding } from 'js-tiktoken';
import { gpt2Tokenizer } from '@llmts/data';

export async function run(args: string[]) {
  const time = Number(args[args.indexOf('--time') + 1] || 3000);
  const text = readFileSync(new URL('../data/tinyshakespeare.txt', import.meta.url), 'utf8');
  const mb = Buffer.byteLength(text) / 1e6;
  const ours = gpt2Tokenizer();
  const oracle = getEncoding('gpt2');
  const a = ours.encode(text, { specialAsText: true });
  const b = oracle.encode(text, [], []);
  if (a.length !== b.length || a.some((v, i) => v !== b[i])) throw new Error('tokenizers disagree on Tiny Shakespeare');
  const bench = new Bench({ time, warmupIterations: 1 });
  // a fresh tokenizer each round so the piece cache starts cold, as in a one-shot prepare
  bench.add('llm.ts gpt2 encode (cold cache)', () => { new (ours.constructor as typeof import('@llmts/data').ByteLevelBPE)(ours.tables, 'gpt2').encode(text, { specialAsText: true }); });
  bench.add('llm.ts gpt2 encode (warm cache)', () => { ours.encode(text, { specialAsText: true }); });
  bench.add('js-tiktoken gpt2 encode', () => { oracle.encode(text, [], []); });
  bench.add('llm.ts gpt2 decode', () => { ours.decode(a); });
  bench.add('js-tiktoken gpt2 decode', () => { oracle.decode(b); });
  await bench.run();
  const rows = bench.tasks.map((t) => {
    const r = t.result;
    const mean = r !== undefined && 'latency' in r ? r.latency.mean : NaN;
    return { task: t.name, 'ms (mean)': +mean.toFixed(1), 'MB/s': +(mb / (mean / 1000)).toFixed(2) };
  });
  return { rows, meta: { corpus: 'tinyshakespeare.txt', megabytes: mb, tokens: a.length } };
}
