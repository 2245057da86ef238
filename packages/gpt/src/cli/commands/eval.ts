import { readFileSync, writeFileSync } from 'node:fs';
import { commonFlags, type CommandSpec } from '../args.ts';
import { loadForInference } from '../io.ts';
import { gptScorer } from '../../eval/loglik.ts';
import { evaluateMultipleChoice, readMultipleChoice, type MCScore } from '../../eval/multiple-choice.ts';
import { perplexity } from '../../eval/perplexity.ts';

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

export const evalCommand: CommandSpec = {
  name: 'eval',
  summary: 'evaluate a checkpoint: multiple-choice accuracy (MMLU-style log-likelihood scoring) or perplexity of a text',
  usage: 'llmts eval --checkpoint DIR --task mc --data FILE.jsonl [--few-shot K] [--scoring letter|text] [--json]\n       llmts eval --checkpoint DIR --task perplexity --data FILE.txt [--stride N] [--json]',
  flags: [
    commonFlags.checkpoint,
    { name: 'task', type: 'string', help: 'mc: multiple-choice questions; perplexity: a text', choices: ['mc', 'perplexity'], required: true },
    { name: 'data', type: 'string', help: 'mc: JSON lines of {"question", "choices": [...], "answer": index, letter or text, "subject"}; perplexity: a UTF-8 text file', required: true },
    { name: 'few-shot', type: 'int', help: 'mc: solved questions of the same subject shown before each question', default: 0, min: 0 },
    { name: 'few-shot-data', type: 'string', help: 'mc: take the solved questions from this file (default: the other questions of --data)' },
    { name: 'scoring', type: 'string', help: 'mc: letter (MMLU: the answer letter after lettered choices) or text (each choice\'s own text; also length-normalised accuracy)', choices: ['letter', 'text'], default: 'letter' },
    { name: 'predictions', type: 'string', help: 'mc: write each question\'s log-likelihoods and pick to this JSON-lines file' },
    { name: 'stride', type: 'int', help: 'perplexity: tokens the window moves each step (default: half the context)', min: 1 },
    { name: 'max-tokens', type: 'int', help: 'perplexity: score at most the first N tokens of the text', min: 2 },
    { name: 'batch-size', type: 'int', help: 'sequences per forward pass', default: 8, min: 1 },
    commonFlags.device,
    commonFlags.quantize,
    { name: 'json', type: 'boolean', help: 'print the result as one JSON object' },
  ],
  async run(a) {
    const task = String(a.task);
    if (task !== 'mc') {
      for (const f of ['few-shot-data', 'predictions'] as const) if (a[f] !== undefined) throw new Error(`eval: --${f} is for --task mc`);
    } else {
      for (const f of ['stride', 'max-tokens'] as const) if (a[f] !== undefined) throw new Error(`eval: --${f} is for --task perplexity`);
    }
    // the data is read and checked before the model loads
    const questions = task === 'mc' ? readMultipleChoice(String(a.data)) : null;
    const shots = a['few-shot-data'] !== undefined ? readMultipleChoice(String(a['few-shot-data'])) : undefined;
    const text = task === 'perplexity' ? readText(String(a.data)) : null;
    const { model, tokenizer } = loadForInference(a);
    try {
      const batchSize = Number(a['batch-size']);
      if (questions) {
        const r = await evaluateMultipleChoice(gptScorer(model, { batchSize }), tokenizer, questions, { scoring: a.scoring as 'letter' | 'text', fewShot: Number(a['few-shot']), ...(shots ? { shots } : {}) });
        const { predictions, ...summary } = r;
        if (a.predictions !== undefined) writeFileSync(String(a.predictions), predictions.map((p) => `${JSON.stringify(p)}\n`).join(''));
        if (a.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
        else {
          const rows: [string, MCScore][] = [...Object.entries(r.subjects), ['all', r]];
          const w = Math.max(8, ...rows.map(([n]) => n.length)) + 2;
          const norm = r.scoring === 'text';
          process.stdout.write(`${'subject'.padEnd(w)}${'accuracy'.padStart(10)}${norm ? 'acc_norm'.padStart(10) : ''}${'correct'.padStart(10)}\n`);
          for (const [name, s] of rows) process.stdout.write(`${name.padEnd(w)}${pct(s.accuracy).padStart(10)}${norm ? pct(s.accuracyNorm!).padStart(10) : ''}${`${s.correct}/${s.total}`.padStart(10)}\n`);
          process.stdout.write(`(${r.scoring} scoring, ${r.fewShot}-shot; guessing scores ${pct(r.chance)})\n`);
        }
      } else {
        let ids = tokenizer.encode(text!, { specialAsText: true, unknown: 'skip' });
        if (a['max-tokens'] !== undefined) ids = ids.slice(0, Number(a['max-tokens']));
        const bytes = Buffer.byteLength(tokenizer.decode(ids.slice(1)), 'utf8');
        const r = await perplexity(model, ids, { bytes, batchSize, ...(a.stride !== undefined ? { stride: Number(a.stride) } : {}) });
        if (a.json) process.stdout.write(`${JSON.stringify(r)}\n`);
        else process.stdout.write(`perplexity ${r.perplexity.toFixed(3)}  loss ${r.loss.toFixed(4)} nats/token  ${r.bitsPerByte.toFixed(4)} bits/byte  (${r.tokens} tokens, context ${r.contextLength}, stride ${r.stride})\n`);
      }
    } finally {
      model.dispose();
    }
    return 0;
  },
};

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}
