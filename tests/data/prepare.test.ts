import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CharTokenizer, TokenDataset, WordTokenizer, gpt2Tokenizer, prepareCorpus, saveTokenizer } from '@llmts/data';

const root = fileURLToPath(new URL('../..', import.meta.url));
const tmp = () => mkdtempSync(join(tmpdir(), 'prep-'));

describe('llmts prepare (prepareCorpus)', () => {
  it('char-tokenizes Tiny Shakespeare into nanoGPT\'s split', async () => {
    const out = tmp();
    const meta = await prepareCorpus({ input: join(root, 'data/tinyshakespeare.txt'), out, tokenizer: 'char' });
    expect(meta).toMatchObject({ dtype: 'uint16', vocabSize: 65, trainTokens: 1003854, valTokens: 111540 });
    expect(readdirSync(out).sort()).toEqual(['meta.json', 'tokenizer.json', 'train.bin', 'val.bin']);
    const ds = TokenDataset.open(out);
    const tok = ds.tokenizer;
    expect(tok.decode(ds.readTokens('train', 0, 14))).toBe('First Citizen:');
    const text = readFileSync(join(root, 'data/tinyshakespeare.txt'), 'utf8');
    expect(tok.decode(ds.readTokens('val', 0, 111540))).toBe(text.slice(1003854));
  });

  it('reads a folder of .txt and .xz files (recursively, sorted), GPT-2 tokenized, documents separated by <|endoftext|>', async () => {
    const out = tmp();
    const progress: number[] = [];
    const meta = await prepareCorpus({ input: join(root, 'tests/fixtures/corpus'), out, tokenizer: 'gpt2', valFraction: 0.2, onProgress: (p) => progress.push(p.bytes) });
    expect(meta.sources.map((s) => s.split('/').slice(-2).join('/'))).toEqual(['corpus/a.txt', 'nested/b.txt.xz']);
    const verdict = readFileSync(join(root, 'data/the-verdict.txt'), 'utf8');
    const enc = gpt2Tokenizer();
    const want = [...enc.encodeOrdinary(verdict.slice(0, 3000)), 50256, ...enc.encodeOrdinary(Buffer.from(verdict).subarray(-2000).toString())];
    const ds = TokenDataset.open(out);
    const got = [...ds.readTokens('train', 0, meta.trainTokens), ...ds.readTokens('val', 0, meta.valTokens)];
    expect(got).toEqual(want);
    expect(meta.trainTokens).toBe(Math.floor(want.length * 0.8));
    expect(progress.length).toBeGreaterThan(0);
  });

  it('learns a byte-level BPE from the corpus (--tokenizer bpe --vocab-size), with <|endoftext|> between documents, and round-trips the text', async () => {
    const out = tmp();
    const meta = await prepareCorpus({ input: join(root, 'tests/fixtures/corpus'), out, tokenizer: 'bpe', vocabSize: 400, valFraction: 0.1 });
    expect(meta.vocabSize).toBe(400);
    const ds = TokenDataset.open(out);
    const tok = ds.tokenizer;
    const eot = tok.specialId('<|endoftext|>')!;
    expect(eot).toBe(399);
    const ids = [...ds.readTokens('train', 0, meta.trainTokens), ...ds.readTokens('val', 0, meta.valTokens)];
    expect(ids.filter((t) => t === eot)).toHaveLength(1);
    const verdict = readFileSync(join(root, 'data/the-verdict.txt'), 'utf8');
    const cut = ids.indexOf(eot);
    expect(tok.decode(ids.slice(0, cut))).toBe(verdict.slice(0, 3000));
    // merges were learned: fewer tokens than bytes
    expect(cut).toBeLessThan(3000 * 0.6);
    await expect(prepareCorpus({ input: join(root, 'data/the-verdict.txt'), out: tmp(), tokenizer: 'char', vocabSize: 300 })).rejects.toThrow(/--vocab-size is for --tokenizer bpe/);
  });

  it('writes uint32 tokens when the vocabulary passes 65,536', async () => {
    const dir = tmp();
    const words = Array.from({ length: 70000 }, (_, i) => `w${i}`);
    const tok = new WordTokenizer([...words, '<|endoftext|>', '<|unk|>']);
    writeFileSync(join(dir, 'c.txt'), 'w1 w69999 w5 w65537 w3');
    saveTokenizer(tok, join(dir, 'tok.json'));
    const meta = await prepareCorpus({ input: join(dir, 'c.txt'), out: join(dir, 'out'), tokenizer: join(dir, 'tok.json'), valFraction: 0.4 });
    expect(meta.dtype).toBe('uint32');
    const ds = TokenDataset.open(join(dir, 'out'));
    expect([...ds.readTokens('train', 0, 3), ...ds.readTokens('val', 0, 2)]).toEqual([1, 69999, 5, 65537, 3]);
  });

  it('fails clearly on a missing path, an empty corpus and invalid UTF-8, leaving no complete-looking output', async () => {
    const dir = tmp();
    await expect(prepareCorpus({ input: join(dir, 'nope'), out: join(dir, 'o'), tokenizer: 'char' })).rejects.toThrow(/input '.*nope' does not exist/);
    mkdirSync(join(dir, 'empty'));
    await expect(prepareCorpus({ input: join(dir, 'empty'), out: join(dir, 'o'), tokenizer: 'char' })).rejects.toThrow(/no \.txt or \.xz files under/);
    writeFileSync(join(dir, 'blank.txt'), '');
    await expect(prepareCorpus({ input: join(dir, 'blank.txt'), out: join(dir, 'o1'), tokenizer: 'gpt2' })).rejects.toThrow(/the corpus is empty/);
    writeFileSync(join(dir, 'bad.txt'), Buffer.concat([Buffer.from('hello wörld '), Buffer.from([0xff, 0x41])]));
    await expect(prepareCorpus({ input: join(dir, 'bad.txt'), out: join(dir, 'o2'), tokenizer: 'gpt2' })).rejects.toThrow(/bad\.txt is not valid UTF-8 \(bad byte at offset 13\)/);
    writeFileSync(join(dir, 'cut.txt'), Buffer.from('abc\xe2\x82', 'latin1'));
    await expect(prepareCorpus({ input: join(dir, 'cut.txt'), out: join(dir, 'o3'), tokenizer: 'gpt2' })).rejects.toThrow(/truncated sequence at offset 3/);
    for (const o of ['o1', 'o2', 'o3']) expect(existsSync(join(dir, o)) ? readdirSync(join(dir, o)) : []).toEqual([]);
  });

  it('an error midway keeps the previous complete output and leaves no temporary files', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'a.txt'), 'abc abc');
    await prepareCorpus({ input: join(dir, 'a.txt'), out: join(dir, 'out'), tokenizer: 'char', valFraction: 0.5 });
    saveTokenizer(new CharTokenizer(['a', 'b', ' ']), join(dir, 'tok.json'));
    await expect(prepareCorpus({ input: join(dir, 'a.txt'), out: join(dir, 'out'), tokenizer: join(dir, 'tok.json') })).rejects.toThrow(/character "c"/);
    expect(readdirSync(join(dir, 'out')).sort()).toEqual(['meta.json', 'tokenizer.json', 'train.bin', 'val.bin']);
    expect(TokenDataset.open(join(dir, 'out')).meta.vocabSize).toBe(4);
  });

  it('a killed run leaves nothing that looks complete', async () => {
    const dir = tmp();
    const big = join(dir, 'big.txt');
    writeFileSync(big, readFileSync(join(root, 'data/tinyshakespeare.txt'), 'utf8').repeat(40));
    const out = join(dir, 'out');
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'packages/gpt/bin/llmts.js'), 'prepare', '--input', big, '--out', out, '--tokenizer', 'gpt2'], { cwd: root, stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 2500));
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    const left = existsSync(out) ? readdirSync(out) : [];
    expect(left.filter((f) => ['meta.json', 'train.bin', 'val.bin'].includes(f))).toEqual([]);
  });
});
