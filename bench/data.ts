/**
 * Batch sampling throughput: getBatch(64, 256) on a prepared corpus, memory-mapped vs positional
 * reads (the corpus is Tiny Shakespeare repeated to --megabytes, default 256 MB of tokens).
 */
import { Bench } from 'tinybench';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manualSeed } from '@llmts/tensor';
import { TokenDataset, gpt2Tokenizer, type CorpusMeta } from '@llmts/data';
import { mmapAddon } from '@llmts/data/internal';

export async function run(args: string[]) {
  const megabytes = Number(args[args.indexOf('--megabytes') + 1] || 256);
  const dir = mkdtempSync(join(tmpdir(), 'bench-data-'));
  const tokens = Uint16Array.from(gpt2Tokenizer().encode(readFileSync(new URL('../data/tinyshakespeare.txt', import.meta.url), 'utf8')));
  const copies = Math.ceil((megabytes * 1e6) / tokens.byteLength);
  const all = new Uint16Array(tokens.length * copies);
  for (let i = 0; i < copies; i++) all.set(tokens, i * tokens.length);
  writeFileSync(join(dir, 'train.bin'), new Uint8Array(all.buffer));
  writeFileSync(join(dir, 'val.bin'), new Uint8Array(tokens.buffer));
  const meta: CorpusMeta = { version: 1, dtype: 'uint16', vocabSize: 50257, tokenizer: { type: 'gpt2' }, trainTokens: all.length, valTokens: tokens.length, eotToken: 50256, valFraction: 0, sources: [] };
  writeFileSync(join(dir, 'meta.json'), JSON.stringify(meta));
  const bench = new Bench({ time: 3000, warmupIterations: 5 });
  for (const backend of mmapAddon() ? (['mmap', 'pread'] as const) : (['pread'] as const)) {
    const ds = TokenDataset.open(dir, { backend });
    manualSeed(0);
    bench.add(`getBatch 64x256 (${backend})`, () => {
      const { x, y } = ds.getBatch('train', 64, 256);
      x.dispose();
      y.dispose();
    });
  }
  await bench.run();
  rmSync(dir, { recursive: true, force: true });
  const rows = bench.tasks.map((t) => {
    const r = t.result;
    const mean = r !== undefined && 'latency' in r ? r.latency.mean : NaN;
    return { task: t.name, 'ms (mean)': +mean.toFixed(3), 'batches/s': +(1000 / mean).toFixed(0) };
  });
  return { rows, meta: { fileMB: all.byteLength / 1e6, mmapAddon: mmapAddon() !== null } };
}
