import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { manualSeed, noGrad, tensor } from '@llmts/tensor';
import { loadGPT } from '@llmts/gpt';

const root = fileURLToPath(new URL('../..', import.meta.url));
const llmts = (args: string[], input?: string) =>
  spawnSync(process.execPath, [join(root, 'packages/gpt/bin/llmts.js'), ...args], { cwd: root, input, encoding: 'utf8', env: { ...process.env, LLMTS_DEVICE: 'cpu', LLMTS_QUIET: '1', LLMTS_WEBGPU: '0' }, timeout: 240_000 });

let run = '';

describe('llmts CLI', () => {
  beforeAll(() => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-'));
    const p = llmts(['prepare', '--input', 'data/the-verdict.txt', '--out', join(dir, 'data'), '--tokenizer', 'char']);
    expect(p.status, p.stderr).toBe(0);
    run = join(dir, 'run');
    const t = llmts(['train', '--preset', 'shakespeare-char-cpu', '--data', join(dir, 'data'), '--out', run, '--max-iters', '6', '--eval-interval', '3', '--eval-iters', '1', '--batch-size', '4', '--log-interval', '2', '--device', 'cpu']);
    expect(t.status, t.stderr).toBe(0);
    expect(t.stderr).toMatch(/train: 6 iterations/);
  }, 240_000);

  it('sample --json prints the new token ids and their text; temperature 0 is greedy and repeatable', () => {
    const a = llmts(['sample', '--checkpoint', run, '--prompt', 'I had', '--max-new-tokens', '12', '--temperature', '0', '--json']);
    expect(a.status, a.stderr).toBe(0);
    const out = JSON.parse(a.stdout) as { tokens: number[]; text: string };
    expect(out.tokens.length).toBe(12);
    expect(out.text.length).toBe(12);
    expect(JSON.parse(llmts(['sample', '--checkpoint', run, '--prompt', 'I had', '--max-new-tokens', '12', '--temperature', '0', '--json']).stdout)).toEqual(out);
    const ids = llmts(['sample', '--checkpoint', run, '--prompt-ids', '1,2,3', '--max-new-tokens', '5', '--top-k', '3', '--seed', '9', '--json']);
    expect((JSON.parse(ids.stdout) as { tokens: number[] }).tokens.length).toBe(5);
    const text = llmts(['sample', '--checkpoint', run, '--prompt', 'Th', '--max-new-tokens', '20', '--top-p', '0.9']);
    expect(text.status).toBe(0);
    expect(text.stdout.startsWith('Th')).toBe(true);
  });

  it('score --json gives the mean next-token loss, its perplexity and the last logits', async () => {
    const r = llmts(['score', '--checkpoint', run, '--prompt-ids', '5,6,7,8,9', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { loss: number; perplexity: number; lastLogits: number[] };
    expect(out.perplexity).toBeCloseTo(Math.exp(out.loss), 4);
    const { model } = loadGPT(run, { device: 'cpu' });
    expect(out.lastLogits.length).toBe(model.config.vocabSize);
    const want = noGrad(() => model.forward(tensor([[5, 6, 7, 8]], { dtype: 'int32' }), tensor([[6, 7, 8, 9]], { dtype: 'int32' })));
    expect(out.loss).toBeCloseTo(await want.loss!.item(), 5);
    // lastLogits are the predictions after the whole text, as a Hugging Face forward gives them
    const full = noGrad(() => model.forward(tensor([[5, 6, 7, 8, 9]], { dtype: 'int32' }), null, { allLogits: true }));
    const last = [...(await full.logits.select(1, 4).select(0, 0).data())];
    last.forEach((v, i) => expect(out.lastLogits[i]).toBeCloseTo(v, 4));
    expect(JSON.parse(llmts(['score', '--checkpoint', run, '--text', 'I had always', '--json']).stdout).loss).toBeGreaterThan(0);
    manualSeed(0);
  });

  it('rejects unknown flags and bad values with the valid choices, and has --help everywhere', () => {
    const bad = llmts(['sample', '--checkpoint', run, '--temprature', '1']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/unknown flag --temprature \(valid: --checkpoint, --prompt, .*--temperature/);
    const preset = llmts(['train', '--preset', 'huge', '--data', 'x', '--out', 'y']);
    expect(preset.status).toBe(2);
    expect(preset.stderr).toMatch(/--preset must be one of shakespeare-char, shakespeare-char-cpu, wizard-of-oz-char, gpt2-124m, got 'huge'/);
    expect(llmts(['sample', '--checkpoint', run, '--temperature', 'hot']).stderr).toMatch(/--temperature must be a number, got 'hot'/);
    expect(llmts(['sample', '--checkpoint', run, '--max-new-tokens', '-3']).stderr).toMatch(/--max-new-tokens must be >= 0/);
    expect(llmts(['frobnicate']).stderr).toMatch(/unknown command 'frobnicate' \(valid: prepare, tune, train, finetune, sample, score, chat, classify, eval, serve, export, tokenize, detokenize\)/);
    for (const cmd of ['prepare', 'tune', 'train', 'finetune classify', 'finetune instruct', 'sample', 'score', 'chat', 'classify', 'eval', 'serve', 'export', 'tokenize', 'detokenize']) {
      const h = llmts([...cmd.split(' '), '--help']);
      expect(h.status, cmd).toBe(0);
      expect(h.stdout).toMatch(new RegExp(`^llmts ${cmd}: `));
    }
    expect(llmts(['finetune', '--help']).stdout).toMatch(/classify .*\n.*instruct/);
    expect(llmts(['finetune', 'summarize']).stderr).toMatch(/llmts finetune: unknown command 'summarize' \(valid: classify, instruct\)/);
    expect(llmts(['sample', '--checkpoint', join(run, 'nope')]).stderr).toMatch(/checkpoint '.*nope' does not exist/);
    expect(llmts(['train', '--preset', 'shakespeare-char-cpu', '--data', '/nonexistent', '--out', 'x']).stderr).toMatch(/not a prepared corpus/);
  });

  it('chat answers prompts from stdin until an empty line', () => {
    const r = llmts(['chat', '--checkpoint', run, '--max-new-tokens', '8', '--temperature', '0'], 'I had\n\n');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Completion: /);
  });

  it('tokenize and detokenize round-trip through stdin', () => {
    const ids = llmts(['tokenize', '--tokenizer', 'gpt2', '--json'], 'Hello, world');
    expect(JSON.parse(ids.stdout)).toEqual([15496, 11, 995]);
    expect(llmts(['detokenize', '--tokenizer', 'gpt2'], '15496 11 995').stdout).toBe('Hello, world');
    expect(llmts(['detokenize', '--tokenizer', 'gpt2'], '[99999]').stderr).toMatch(/id 99999 is outside the vocabulary of 50257/);
  });
});
