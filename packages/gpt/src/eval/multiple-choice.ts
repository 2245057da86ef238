/**
 * Multiple-choice evaluation the way MMLU harnesses score it: each question is shown with its
 * lettered choices ending in "Answer:", and the model's pick is the letter (" A", " B", …) with the
 * highest log-likelihood; optionally preceded by k solved questions of the same subject. The
 * 'text' scoring instead compares the log-likelihood of each choice's own text after the question
 * (accuracy, and accuracy normalised by the choice's length in bytes, as lm-evaluation-harness's
 * acc_norm).
 */
import { readFileSync } from 'node:fs';
import type { Tokenizer } from '@llmts/data';
import type { LoglikRequest, LoglikScorer } from './loglik.ts';

/** One question: `answer` is the index of the right choice. */
export interface MCQuestion {
  question: string;
  choices: string[];
  answer: number;
  subject: string;
}

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/**
 * Read `{"question", "choices": [...], "answer", "subject"?}` lines; `answer` may be the index, the
 * letter, or the text of the right choice. Errors name the file and line.
 */
export function readMultipleChoice(path: string): MCQuestion[] {
  let content: string;
  try {
    content = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const out: MCQuestion[] = [];
  content.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const where = `${path}:${i + 1}`;
    let v: Record<string, unknown>;
    try {
      v = JSON.parse(line) as Record<string, unknown>;
    } catch (e) {
      throw new Error(`${where}: not valid JSON (${(e as Error).message})`);
    }
    const { question, choices, answer, subject } = v ?? {};
    if (typeof question !== 'string' || question.trim() === '') throw new Error(`${where}: "question" must be a non-empty string`);
    if (!Array.isArray(choices) || choices.length < 2 || choices.length > LETTERS.length || choices.some((c) => typeof c !== 'string' || c === '')) {
      throw new Error(`${where}: "choices" must be a list of 2 to ${LETTERS.length} non-empty strings`);
    }
    const list = choices as string[];
    let index: number;
    if (typeof answer === 'number') index = answer;
    else if (typeof answer === 'string' && /^[A-Z]$/.test(answer.trim())) index = LETTERS.indexOf(answer.trim());
    else if (typeof answer === 'string') index = list.indexOf(answer);
    else index = -1;
    if (!Number.isInteger(index) || index < 0 || index >= list.length) throw new Error(`${where}: "answer" ${JSON.stringify(answer)} is not a choice (an index 0..${list.length - 1}, a letter A..${LETTERS[list.length - 1]}, or a choice's text)`);
    if (subject !== undefined && typeof subject !== 'string') throw new Error(`${where}: "subject" must be a string`);
    out.push({ question, choices: list, answer: index, subject: subject ?? 'general' });
  });
  if (out.length === 0) throw new Error(`${path}: no questions in it`);
  return out;
}

/** Options of `evaluateMultipleChoice`. */
export interface MCOptions {
  /** 'letter' (MMLU: the answer letter after the lettered choices) or 'text' (each choice's text). */
  scoring?: 'letter' | 'text';
  /** Solved questions of the same subject shown first (default 0). */
  fewShot?: number;
  /** Where the solved questions come from (default: the other questions of the set). */
  shots?: readonly MCQuestion[];
}

/** Accuracy of a set of questions. */
export interface MCScore {
  accuracy: number;
  correct: number;
  total: number;
  /** With 'text' scoring: accuracy when log-likelihoods are divided by the choice's length in bytes. */
  accuracyNorm?: number;
}

/** Per-question outcome. */
export interface MCPrediction {
  index: number;
  subject: string;
  answer: number;
  predicted: number;
  logLikelihoods: number[];
  correct: boolean;
  predictedNorm?: number;
}

/** What `evaluateMultipleChoice` returns. */
export interface MCResult extends MCScore {
  task: 'mc';
  scoring: 'letter' | 'text';
  fewShot: number;
  /** Expected accuracy of guessing (mean of 1/choices). */
  chance: number;
  subjects: Record<string, MCScore>;
  predictions: MCPrediction[];
}

const subjectName = (s: string) => s.replace(/_/g, ' ');

function lettered(q: MCQuestion): string {
  return `${q.question.trim()}\n${q.choices.map((c, i) => `${LETTERS[i]}. ${c}`).join('\n')}\nAnswer:`;
}

/** The prompt before the answer, and each choice's continuation. */
export function mcPrompt(q: MCQuestion, shots: readonly MCQuestion[], scoring: 'letter' | 'text'): { context: string; continuations: string[] } {
  if (scoring === 'letter') {
    const header = `The following are multiple choice questions (with answers) about ${subjectName(q.subject)}.\n\n`;
    const solved = shots.map((s) => `${lettered(s)} ${LETTERS[s.answer]}\n\n`).join('');
    return { context: header + solved + lettered(q), continuations: q.choices.map((_, i) => ` ${LETTERS[i]}`) };
  }
  const solved = shots.map((s) => `Question: ${s.question.trim()}\nAnswer: ${s.choices[s.answer]}\n\n`).join('');
  return { context: `${solved}Question: ${q.question.trim()}\nAnswer:`, continuations: q.choices.map((c) => ` ${c}`) };
}

/**
 * Score every question and report accuracy overall and per subject.
 * @example const r = await evaluateMultipleChoice(gptScorer(model), tokenizer, readMultipleChoice('data/eval/llmts-mc.jsonl'));
 */
export async function evaluateMultipleChoice(score: LoglikScorer, tokenizer: Tokenizer, questions: readonly MCQuestion[], o: MCOptions = {}): Promise<MCResult> {
  const scoring = o.scoring ?? 'letter';
  const k = o.fewShot ?? 0;
  if (!Number.isInteger(k) || k < 0) throw new Error(`eval: few-shot must be a non-negative integer, got ${k}`);
  const pool = o.shots ?? questions;
  const encode = (s: string) => tokenizer.encode(s, { specialAsText: true, unknown: 'skip' });
  const requests: LoglikRequest[] = [];
  const spans: { from: number; count: number; bytes: number[] }[] = [];
  questions.forEach((q, qi) => {
    // the first k other questions of the subject, in file order
    const shots = k === 0 ? [] : pool.filter((s) => s !== q && s.subject === q.subject).slice(0, k);
    const { context, continuations } = mcPrompt(q, shots, scoring);
    const ctx = encode(context);
    if (ctx.length === 0) throw new Error(`eval: question ${qi} has no tokens the model knows`);
    spans.push({ from: requests.length, count: continuations.length, bytes: continuations.map((c) => Buffer.byteLength(c, 'utf8')) });
    for (const c of continuations) {
      const cont = encode(c);
      if (cont.length === 0) throw new Error(`eval: question ${qi}: choice ${JSON.stringify(c.trim())} has no tokens the model knows`);
      requests.push({ context: ctx, continuation: cont });
    }
  });
  const ll = await score(requests);
  const predictions: MCPrediction[] = questions.map((q, qi) => {
    const s = spans[qi]!;
    const lls = ll.slice(s.from, s.from + s.count);
    const argmax = (v: number[]) => v.reduce((b, x, i) => (x > v[b]! ? i : b), 0);
    const predicted = argmax(lls);
    const p: MCPrediction = { index: qi, subject: q.subject, answer: q.answer, predicted, logLikelihoods: lls, correct: predicted === q.answer };
    if (scoring === 'text') p.predictedNorm = argmax(lls.map((v, i) => v / s.bytes[i]!));
    return p;
  });
  const tally = (ps: MCPrediction[]): MCScore => {
    const correct = ps.filter((p) => p.correct).length;
    const out: MCScore = { accuracy: correct / ps.length, correct, total: ps.length };
    if (scoring === 'text') out.accuracyNorm = ps.filter((p) => p.predictedNorm === p.answer).length / ps.length;
    return out;
  };
  const bySubject = new Map<string, MCPrediction[]>();
  for (const p of predictions) bySubject.set(p.subject, [...(bySubject.get(p.subject) ?? []), p]);
  const subjects = Object.fromEntries([...bySubject.keys()].sort().map((name) => [name, tally(bySubject.get(name)!)]));
  const chance = questions.reduce((a, q) => a + 1 / q.choices.length, 0) / questions.length;
  return { task: 'mc', scoring, fewShot: k, ...tally(predictions), chance, subjects, predictions };
}
