// Evaluation: multiple-choice scoring checked on hand-made sets where the right answer is known
// (a scorer that knows it, and a GPT trained here to memorise it), the log-likelihoods and the
// sliding-window perplexity checked against the same sums done token by token from full logits.
import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { manualSeed, noGrad, randint, tensor } from '@llmts/tensor';
import { AdamW } from '@llmts/nn';
import { CharTokenizer } from '@llmts/data';
import { GPT, evaluateMultipleChoice, gptScorer, mcPrompt, perplexity, readMultipleChoice, saveGPT, type LoglikScorer, type MCQuestion } from '@llmts/gpt';

const root = fileURLToPath(new URL('../..', import.meta.url));
const llmts = (args: string[]) =>
  spawnSync(process.execPath, [join(root, 'packages/gpt/bin/llmts.js'), ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, LLMTS_DEVICE: 'cpu', LLMTS_QUIET: '1', LLMTS_WEBGPU: '0' }, timeout: 120_000 });

const dir = mkdtempSync(join(tmpdir(), 'eval-'));
const chars = CharTokenizer.fromText('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,:?\'\n-');

/** log p(token | all before) from a full forward, summed over the continuation: the reference. */
async function referenceLoglik(model: GPT, context: number[], continuation: number[]): Promise<number> {
  const all = [...context, ...continuation];
  const start = Math.max(0, all.length - 1 - model.config.blockSize);
  const inputs = all.slice(start, -1);
  const logits = await noGrad(() => model.forward(tensor([inputs], { dtype: 'int32' }), null, { allLogits: true }).logits).data();
  const V = model.config.vocabSize;
  let sum = 0;
  for (let j = inputs.length - continuation.length; j < inputs.length; j++) {
    const row = Array.from(logits.subarray(j * V, (j + 1) * V));
    const max = Math.max(...row);
    const lse = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
    sum += row[all[start + j + 1]!]! - lse;
  }
  return sum;
}

describe('multiple-choice files and prompts', () => {
  it('reads answers as an index, a letter or the choice\'s text, and names the line of a bad one', () => {
    const file = join(dir, 'q.jsonl');
    writeFileSync(file, [
      JSON.stringify({ question: 'Two plus two?', choices: ['3', '4'], answer: 1, subject: 'math' }),
      JSON.stringify({ question: 'Sky colour?', choices: ['green', 'blue', 'red'], answer: 'B' }),
      '',
      JSON.stringify({ question: 'Opposite of hot?', choices: ['cold', 'warm'], answer: 'cold', subject: 'english' }),
    ].join('\n'));
    expect(readMultipleChoice(file).map((q) => [q.answer, q.subject])).toEqual([[1, 'math'], [1, 'general'], [0, 'english']]);
    writeFileSync(file, `${JSON.stringify({ question: 'x', choices: ['a', 'b'], answer: 0 })}\n${JSON.stringify({ question: 'y', choices: ['a', 'b'], answer: 'C' })}\n`);
    expect(() => readMultipleChoice(file)).toThrow(/q\.jsonl:2: "answer" "C" is not a choice/);
    writeFileSync(file, JSON.stringify({ question: 'y', choices: ['a'], answer: 0 }));
    expect(() => readMultipleChoice(file)).toThrow(/q\.jsonl:1: "choices" must be a list of 2 to 26/);
    expect(readMultipleChoice(join(root, 'data/eval/llmts-mc.jsonl')).length).toBe(60);
  });

  it('builds MMLU\'s prompt, with k solved questions of the same subject (never the question itself)', () => {
    const qs: MCQuestion[] = [
      { question: 'Q1?', choices: ['a', 'b'], answer: 0, subject: 'high_school_math' },
      { question: 'Q2?', choices: ['c', 'd'], answer: 1, subject: 'high_school_math' },
      { question: 'Q3?', choices: ['e', 'f'], answer: 1, subject: 'other' },
    ];
    const p = mcPrompt(qs[0]!, [qs[1]!], 'letter');
    expect(p.context).toBe('The following are multiple choice questions (with answers) about high school math.\n\nQ2?\nA. c\nB. d\nAnswer: B\n\nQ1?\nA. a\nB. b\nAnswer:');
    expect(p.continuations).toEqual([' A', ' B']);
    expect(mcPrompt(qs[2]!, [], 'text')).toEqual({ context: 'Question: Q3?\nAnswer:', continuations: [' e', ' f'] });
  });
});

describe('multiple-choice scoring', () => {
  const questions: MCQuestion[] = [
    { question: 'Capital of France?', choices: ['Rome', 'Paris', 'Oslo'], answer: 1, subject: 'geography' },
    { question: 'Largest ocean?', choices: ['Pacific', 'Indian'], answer: 0, subject: 'geography' },
    { question: 'Two plus three?', choices: ['4', '5', '6', '7'], answer: 3, subject: 'math' },
  ];
  /** A scorer that knows geography and is wrong about math: the right letter gets log p 0, others -5. */
  const knowing: LoglikScorer = async (requests) => requests.map((r) => {
    const context = chars.decode(r.context);
    const letter = chars.decode(r.continuation).trim();
    const q = questions.find((x) => context.endsWith(`${x.question}\n${x.choices.map((c, i) => `${'ABCD'[i]}. ${c}`).join('\n')}\nAnswer:`))!;
    const right = q.subject === 'math' ? 'A' : 'ABCD'[q.answer];
    return letter === right ? 0 : -5;
  });

  it('scores the letter with the highest log-likelihood, overall and per subject', async () => {
    const r = await evaluateMultipleChoice(knowing, chars, questions);
    expect(r).toMatchObject({ task: 'mc', scoring: 'letter', fewShot: 0, correct: 2, total: 3, subjects: { geography: { accuracy: 1, correct: 2, total: 2 }, math: { accuracy: 0, correct: 0, total: 1 } } });
    expect(r.accuracy).toBeCloseTo(2 / 3, 10);
    expect(r.chance).toBeCloseTo((1 / 3 + 1 / 2 + 1 / 4) / 3, 10);
    expect(r.predictions.map((p) => p.predicted)).toEqual([1, 0, 0]);
    const fewShot = await evaluateMultipleChoice(knowing, chars, questions, { fewShot: 1 });
    expect(fewShot.correct).toBe(2);
  });

  it('with text scoring, normalises by length in bytes for acc_norm', async () => {
    const q: MCQuestion[] = [{ question: 'Pick', choices: ['a', 'bbbb'], answer: 1, subject: 's' }];
    // -2 for the one-byte choice (" a" is 2 bytes: -1/byte), -4 for " bbbb" (5 bytes: -0.8/byte)
    const perLength: LoglikScorer = async (requests) => requests.map((r) => (r.continuation.length === 2 ? -2 : -4));
    const r = await evaluateMultipleChoice(perLength, chars, q, { scoring: 'text' });
    expect(r.accuracy).toBe(0);
    expect(r.accuracyNorm).toBe(1);
  });
});

describe('log-likelihoods and perplexity of a GPT', () => {
  let model: GPT;
  beforeAll(() => {
    manualSeed(21);
    model = new GPT({ vocabSize: chars.vocabSize, blockSize: 8, nLayer: 2, nHead: 2, nEmbd: 16 });
    model.eval();
  });

  it('sums log p of the continuation\'s tokens, cropping long requests on the left, in any batch', async () => {
    const requests = [
      { context: [1, 2, 3], continuation: [4, 5] },
      { context: Array.from({ length: 12 }, (_, i) => (i * 7) % chars.vocabSize), continuation: [9, 10, 11] },
      { context: [30], continuation: [31] },
    ];
    const got = await gptScorer(model, { batchSize: 2 })(requests);
    for (const [i, r] of requests.entries()) expect(got[i]).toBeCloseTo(await referenceLoglik(model, r.context, r.continuation), 4);
    await expect(gptScorer(model)([{ context: [1], continuation: Array(9).fill(1) as number[] }])).rejects.toThrow(/continuation of 9 tokens exceeds the context of 8/);
  });

  it('perplexity predicts every token once: stride 1 gives each the full context, stride = context restarts each window', async () => {
    manualSeed(22);
    const ids = Array.from(await randint(0, chars.vocabSize, [30], { dtype: 'int32' }).data());
    const exactly = async (contextOf: (t: number) => number) => {
      let nll = 0;
      for (let t = 1; t < ids.length; t++) nll -= await referenceLoglik(model, ids.slice(contextOf(t), t), [ids[t]!]);
      return nll / (ids.length - 1);
    };
    const sliding = await perplexity(model, ids, { bytes: 29, stride: 1 });
    expect(sliding.tokens).toBe(29);
    expect(sliding.loss).toBeCloseTo(await exactly((t) => Math.max(0, t - 8)), 4);
    const blocks = await perplexity(model, ids, { bytes: 29, stride: 8, batchSize: 3 });
    expect(blocks.loss).toBeCloseTo(await exactly((t) => Math.floor((t - 1) / 8) * 8), 4);
    expect(blocks.perplexity).toBeCloseTo(Math.exp(blocks.loss), 6);
    expect(blocks.bitsPerByte).toBeCloseTo((blocks.loss * 29) / Math.LN2 / 29, 6);
    await expect(perplexity(model, ids, { bytes: 1, stride: 9 })).rejects.toThrow(/stride must be 1\.\.8/);
  });
});

describe('eval on a model that memorised the answers', () => {
  it('picks the memorised answer of every question (text scoring), and llmts eval says so as JSON', async () => {
    const facts = [['Where does the cat sit?', 'on the mat'], ['Where does the dog run?', 'in the park'], ['Where does the bird sing?', 'in the tree']];
    const corpus = facts.map(([q, a]) => `Question: ${q}\nAnswer: ${a}\n\n`).join('');
    const ids = chars.encode(corpus.repeat(20));
    manualSeed(7);
    const model = new GPT({ vocabSize: chars.vocabSize, blockSize: 48, nLayer: 2, nHead: 2, nEmbd: 48 });
    const opt = new AdamW(model.parameters(), { lr: 3e-3 });
    for (let step = 0; step < 250; step++) {
      const starts = Array.from(await randint(0, ids.length - 49, [8], { dtype: 'int32' }).data());
      const x = tensor(starts.map((s) => ids.slice(s, s + 48)), { dtype: 'int32' });
      const y = tensor(starts.map((s) => ids.slice(s + 1, s + 49)), { dtype: 'int32' });
      model.forward(x, y).loss!.backward();
      opt.step();
      opt.zeroGrad();
    }
    opt.dispose();
    model.eval();
    const questions: MCQuestion[] = facts.map(([q, a], i) => ({ question: q!, choices: facts.map(([, c]) => c!), answer: i, subject: 'animals' }));
    const r = await evaluateMultipleChoice(gptScorer(model), chars, questions, { scoring: 'text' });
    expect(r.accuracy).toBe(1);
    const ckpt = join(dir, 'memorised');
    await saveGPT(model, chars, ckpt);
    const file = join(dir, 'animals.jsonl');
    writeFileSync(file, questions.map((q) => JSON.stringify(q)).join('\n'));
    const cli = llmts(['eval', '--checkpoint', ckpt, '--task', 'mc', '--data', file, '--scoring', 'text', '--json', '--predictions', join(dir, 'preds.jsonl')]);
    expect(cli.status, cli.stderr).toBe(0);
    expect(JSON.parse(cli.stdout)).toMatchObject({ task: 'mc', scoring: 'text', accuracy: 1, correct: 3, total: 3, subjects: { animals: { accuracy: 1 } } });
    const text = join(dir, 'text.txt');
    writeFileSync(text, corpus);
    const ppl = llmts(['eval', '--checkpoint', ckpt, '--task', 'perplexity', '--data', text, '--json']);
    expect(ppl.status, ppl.stderr).toBe(0);
    const p = JSON.parse(ppl.stdout) as { perplexity: number; tokens: number; stride: number };
    expect(p.tokens).toBe(corpus.length - 1);
    expect(p.stride).toBe(24);
    expect(p.perplexity).toBeLessThan(3); // memorised text is nearly certain
    expect(llmts(['eval', '--checkpoint', ckpt, '--task', 'perplexity', '--data', text, '--few-shot-data', file]).stderr).toMatch(/--few-shot-data is for --task mc/);
    model.dispose();
  });
});
