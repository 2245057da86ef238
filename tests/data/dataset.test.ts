import { describe, expect, it } from 'vitest';
import { closeSync, mkdtempSync, openSync, writeFileSync, ftruncateSync, writeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasBackend, manualSeed } from '@llmts/tensor';
import { TokenDataset, type CorpusMeta } from '@llmts/data';
import { mmapAddon } from '@llmts/data/internal';

function makeCorpus(train: number[], val: number[], dtype: 'uint16' | 'uint32' = 'uint16'): string {
  const dir = mkdtempSync(join(tmpdir(), 'ds-'));
  const Arr = dtype === 'uint16' ? Uint16Array : Uint32Array;
  writeFileSync(join(dir, 'train.bin'), new Uint8Array(Arr.from(train).buffer));
  writeFileSync(join(dir, 'val.bin'), new Uint8Array(Arr.from(val).buffer));
  const meta: CorpusMeta = { version: 1, dtype, vocabSize: dtype === 'uint16' ? 50257 : 70000, tokenizer: { type: 'gpt2' }, trainTokens: train.length, valTokens: val.length, eotToken: null, valFraction: 0.1, sources: [] };
  writeFileSync(join(dir, 'meta.json'), JSON.stringify(meta));
  return dir;
}

const backends = (mmapAddon() ? ['mmap', 'pread'] : ['pread']) as ('mmap' | 'pread')[];

describe('memory-mapped token dataset', () => {
  it('the mmap addon is built on this machine (npm install compiles it)', () => {
    if (process.env.LLMTS_REQUIRE_MMAP === '1') expect(mmapAddon()).not.toBeNull();
  });

  for (const backend of backends) {
    describe(backend, () => {
      it('getBatch: y is x shifted by one, offsets from the seeded generator', async () => {
        const train = Array.from({ length: 1000 }, (_, i) => i);
        const ds = TokenDataset.open(makeCorpus(train, [1, 2, 3, 4, 5]), { backend });
        expect(ds.backend).toBe(backend);
        manualSeed(3);
        const { x, y } = ds.getBatch('train', 4, 8);
        expect(x.shape).toEqual([4, 8]);
        expect(x.dtype).toBe('int32');
        const xs = (await x.toArray()) as number[][];
        const ys = (await y.toArray()) as number[][];
        for (let b = 0; b < 4; b++) {
          expect(xs[b]).toEqual(Array.from({ length: 8 }, (_, i) => xs[b]![0]! + i));
          expect(ys[b]).toEqual(xs[b]!.map((v) => v + 1));
        }
        manualSeed(3);
        expect(await ds.getBatch('train', 4, 8).x.toArray()).toEqual(xs);
        expect(() => ds.getBatch('val', 2, 8)).toThrow(/the val split has 5 tokens, too few for blockSize 8/);
      });

      it('sliding windows with a stride cover the split in order', async () => {
        const ds = TokenDataset.open(makeCorpus(Array.from({ length: 20 }, (_, i) => 100 + i), [0, 1]), { backend });
        expect(ds.windowCount('train', 4, 3)).toBe(6);
        const firsts: number[] = [];
        for (const { x, y } of ds.batches('train', { batchSize: 4, blockSize: 4, stride: 3 })) {
          const xs = (await x.toArray()) as number[][];
          const ys = (await y.toArray()) as number[][];
          xs.forEach((row, i) => { firsts.push(row[0]!); expect(ys[i]).toEqual(row.map((v) => v + 1)); });
        }
        expect(firsts).toEqual([100, 103, 106, 109, 112, 115]);
      });

      it('reads uint32 files', () => {
        const ds = TokenDataset.open(makeCorpus([70000, 5, 65536], [1, 2], 'uint32'), { backend });
        expect([...ds.readTokens('train', 0, 3)]).toEqual([70000, 5, 65536]);
      });
    });
  }

  it.skipIf(!hasBackend('gpu'))('puts batches on the GPU', async () => {
    const ds = TokenDataset.open(makeCorpus(Array.from({ length: 100 }, (_, i) => i), [1, 2, 3]));
    const { x } = ds.getBatch('train', 2, 5, { device: 'gpu' });
    expect(x.device).toBe('gpu');
    const xs = (await x.toArray()) as number[][];
    expect(xs[0]![1]! - xs[0]![0]!).toBe(1);
  });

  it('detects files that do not match meta.json, and missing corpora', () => {
    const dir = makeCorpus([1, 2, 3], [4]);
    const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as CorpusMeta;
    writeFileSync(join(dir, 'meta.json'), JSON.stringify({ ...meta, trainTokens: 5 }));
    expect(() => TokenDataset.open(dir)).toThrow(/train\.bin: holds 3 tokens but meta\.json says 5/);
    rmSync(join(dir, 'meta.json'));
    expect(() => TokenDataset.open(dir)).toThrow(/no meta\.json \(not prepared, or an interrupted prepare\)/);
    expect(() => TokenDataset.open(join(dir, 'none'))).toThrow(/no such directory \(run llmts prepare first\)/);
  });
});

/** Anonymous (heap) and file-backed resident memory of this process, in bytes. */
function rss(): { anon: number; file: number } {
  const status = readFileSync('/proc/self/status', 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) * 1024;
  return { anon: kb('RssAnon'), file: kb('RssFile') };
}

describe('files far larger than RAM would allow to load', () => {
  for (const backend of backends) {
    it(`${backend}: 10,000 random windows over a 6 GiB sparse file keep anonymous memory small`, () => {
      const dir = mkdtempSync(join(tmpdir(), 'big-'));
      const tokens = 3 * 2 ** 30; // 6 GiB of uint16
      const fd = openSync(join(dir, 'train.bin'), 'w');
      ftruncateSync(fd, tokens * 2);
      // recognisable tokens at the start, just past 4 GiB, and at the end
      writeSync(fd, new Uint8Array(Uint16Array.of(11, 12, 13).buffer), 0, 6, 0);
      writeSync(fd, new Uint8Array(Uint16Array.of(21, 22, 23).buffer), 0, 6, 2 ** 32 + 2);
      writeSync(fd, new Uint8Array(Uint16Array.of(31, 32).buffer), 0, 4, tokens * 2 - 4);
      closeSync(fd);
      writeFileSync(join(dir, 'val.bin'), new Uint8Array(4));
      const meta: CorpusMeta = { version: 1, dtype: 'uint16', vocabSize: 50257, tokenizer: { type: 'gpt2' }, trainTokens: tokens, valTokens: 2, eotToken: null, valFraction: 0, sources: [] };
      writeFileSync(join(dir, 'meta.json'), JSON.stringify(meta));
      const ds = TokenDataset.open(dir, { backend });
      expect([...ds.readTokens('train', 0, 3)]).toEqual([11, 12, 13]);
      expect([...ds.readTokens('train', 2 ** 31 + 1, 3)]).toEqual([21, 22, 23]);
      expect([...ds.readTokens('train', tokens - 2, 2)]).toEqual([31, 32]);
      const before = rss();
      manualSeed(0);
      for (let i = 0; i < 10_000; i++) {
        const { x, y } = ds.getBatch('train', 1, 256);
        x.dispose();
        y.dispose();
      }
      const after = rss();
      const grewMiB = (after.anon - before.anon) / 2 ** 20;
      console.log(`${backend}: RssAnon +${grewMiB.toFixed(1)} MiB, RssFile ${(after.file / 2 ** 20).toFixed(0)} MiB`);
      expect(grewMiB).toBeLessThan(64);
      ds.close();
      rmSync(dir, { recursive: true, force: true });
    });
  }
});
