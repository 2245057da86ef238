// The command line's edges: values that used to be accepted, failures that printed stack traces
// or internal messages, and chat with piped input. Every failure is one line naming its cause.
import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'packages/gpt/bin/llmts.js');
const llmts = (args: string[], o: { env?: Record<string, string>; input?: string } = {}) =>
  spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', input: o.input, timeout: 120_000, env: { ...process.env, LLMTS_QUIET: '1', LLMTS_WEBGPU: '0', LLMTS_DEVICE: 'cpu', ...o.env } });

let work = '';
let run = '';
let data = '';

/** stderr as lines, with a check that it is one line and no stack trace. */
function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  expect(lines, stderr).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at /);
  return lines[0]!;
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'cli-trust-'));
  data = join(work, 'data');
  run = join(work, 'run');
  expect(llmts(['prepare', '--input', join(root, 'data/the-verdict.txt'), '--out', data, '--tokenizer', 'char']).status).toBe(0);
  const t = llmts(['train', '--preset', 'shakespeare-char-cpu', '--data', data, '--out', run, '--max-iters', '6', '--n-layer', '1', '--n-head', '2', '--n-embd', '16', '--block-size', '16', '--batch-size', '4', '--eval-iters', '1', '--eval-interval', '3']);
  expect(t.status, t.stderr).toBe(0);
}, 120_000);

describe('values that used to be accepted', () => {
  it('a tiny temperature is greedy, as 0 is', () => {
    const greedy = llmts(['sample', '--checkpoint', run, '--temperature', '0', '--max-new-tokens', '40', '--json']);
    const tiny = llmts(['sample', '--checkpoint', run, '--temperature', '1e-320', '--max-new-tokens', '40', '--json']);
    expect(tiny.status, tiny.stderr).toBe(0);
    expect(JSON.parse(tiny.stdout)).toEqual(JSON.parse(greedy.stdout));
  });

  it('non-decimal numbers, unsafe integers, ids past the vocabulary and bad LLMTS_* settings are refused', () => {
    expect(oneLine(llmts(['train', '--preset', 'shakespeare-char-cpu', '--data', data, '--out', join(work, 'x'), '--max-iters', '0x10']).stderr)).toBe("llmts train: --max-iters must be an integer, got '0x10'");
    expect(oneLine(llmts(['sample', '--checkpoint', run, '--seed', '1e300']).stderr)).toMatch(/^llmts sample: --seed must be an integer of at most 9007199254740991, got '1e300'$/);
    expect(oneLine(llmts(['sample', '--checkpoint', run, '--temperature', 'Infinity']).stderr)).toMatch(/--temperature must be a number, got 'Infinity'/);
    expect(oneLine(llmts(['sample', '--checkpoint', run, '--stop-token', '9999']).stderr)).toMatch(/^error: sample: --stop-token 9999 is outside the vocabulary of \d+$/);
    expect(oneLine(llmts(['sample', '--checkpoint', run, '--max-new-tokens', '2'], { env: { LLMTS_THREADS: 'abc' } }).stderr)).toBe("error: LLMTS_THREADS must be a positive integer (CPU threads, main thread included), got 'abc'");
    expect(oneLine(llmts(['sample', '--checkpoint', run], { env: { LLMTS_DEVICE: 'tpu' } }).stderr)).toBe("error: LLMTS_DEVICE must be 'cpu' or 'gpu', got 'tpu'");
    expect(oneLine(llmts(['sample', '--checkpoint', run, '--prompt-ids', 'abc']).stderr)).toBe("error: sample: --prompt-ids: item 0 ('abc') is not a non-negative integer");
    expect(oneLine(llmts(['score', '--checkpoint', run, '--prompt-ids', '1,2,-3']).stderr)).toBe("error: score: --prompt-ids: item 2 ('-3') is not a non-negative integer");
  });
});

describe('failures are one line naming the file, flag or value', () => {
  it('a malformed meta.json, tokenizer or config', () => {
    const bad = join(work, 'bad-meta');
    cpSync(data, bad, { recursive: true });
    writeFileSync(join(bad, 'meta.json'), '{"dtype": "uint16", "vocabSize": "many"');
    expect(oneLine(llmts(['train', '--preset', 'shakespeare-char-cpu', '--data', bad, '--out', join(work, 'y')]).stderr)).toMatch(/meta\.json: not valid JSON/);
    const meta = JSON.parse(readFileSync(join(data, 'meta.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(bad, 'meta.json'), JSON.stringify({ ...meta, vocabSize: 'many' }));
    expect(oneLine(llmts(['train', '--preset', 'shakespeare-char-cpu', '--data', bad, '--out', join(work, 'y')]).stderr)).toMatch(/meta\.json: vocabSize must be a positive integer, got "many"/);
    writeFileSync(join(work, 'tok.json'), '{"type": "char", "chars": 5}');
    expect(oneLine(llmts(['tokenize', '--tokenizer', join(work, 'tok.json')], { input: 'hi' }).stderr)).toMatch(/tok\.json: tokenizer: 'chars' must be an array of characters/);
    writeFileSync(join(work, 'cfg.json'), '{"n_layer": 2, "learning_rat": 1}');
    expect(oneLine(llmts(['train', '--preset', 'shakespeare-char-cpu', '--data', data, '--out', join(work, 'z'), '--config', join(work, 'cfg.json')]).stderr)).toMatch(/--config .*cfg\.json: unknown setting 'learning_rat' \(valid: n-layer, /);
  });

  it('a truncated .xz file', () => {
    const whole = readFileSync(join(root, 'tests/fixtures/corpus/nested/b.txt.xz'));
    writeFileSync(join(work, 'cut.xz'), whole.subarray(0, Math.floor(whole.length / 2)));
    const r = llmts(['prepare', '--input', join(work, 'cut.xz'), '--out', join(work, 'cut'), '--tokenizer', 'char']);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(/^error: prepare: .*cut\.xz: is truncated \(the file ends before the compressed stream does\)$/);
  });

  it('a reader that closes the pipe early (llmts sample | head) ends the command quietly', () => {
    const r = spawnSync('sh', ['-c', `"${process.execPath}" "${bin}" sample --checkpoint "${run}" --max-new-tokens 4000 --num-samples 20 2>"${join(work, 'err.txt')}" | head -c 20 >/dev/null`], { encoding: 'utf8', env: { ...process.env, LLMTS_QUIET: '1', LLMTS_WEBGPU: '0' } });
    expect(r.status).toBe(0);
    expect(readFileSync(join(work, 'err.txt'), 'utf8')).toBe('');
  });
});

describe('chat', () => {
  it('answers every piped line and leaves out characters the vocabulary lacks', () => {
    const r = llmts(['chat', '--checkpoint', run, '--max-new-tokens', '4', '--temperature', '0'], { input: 'I had\n\nthe é€ end\nHe said\n' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.match(/Completion: /g)).toHaveLength(3);
    expect(r.stdout).toMatch(/left out characters the model does not know: "é" "€"/);
  });
});
