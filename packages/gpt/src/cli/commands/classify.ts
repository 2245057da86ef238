import { readFileSync } from 'node:fs';
import type { Device } from '@llmts/tensor';
import { commonFlags, type CommandSpec } from '../args.ts';
import { readStdin } from '../io.ts';
import { loadClassifier } from '../../finetune/classifier-files.ts';

export const classifyCommand: CommandSpec = {
  name: 'classify',
  summary: 'label texts with a classifier made by llmts finetune classify',
  usage: 'llmts classify --checkpoint DIR (--text "…" | --input FILE | --input -) [--json]',
  flags: [
    { ...commonFlags.checkpoint, help: 'a classifier: the --out directory of llmts finetune classify, its best/ or last/, or a Hugging Face GPT2ForSequenceClassification directory' },
    { name: 'text', type: 'string', help: 'the text to classify' },
    { name: 'input', type: 'string', help: 'a file of texts, one per line (- for stdin); prints one result per line' },
    { name: 'batch-size', type: 'int', help: 'texts per forward pass with --input', default: 16, min: 1 },
    commonFlags.device,
    { name: 'json', type: 'boolean', help: 'print {"label", "probabilities": {label: p, …}} (one JSON line per text)' },
  ],
  async run(a) {
    if ((a.text === undefined) === (a.input === undefined)) throw new Error('classify: give exactly one of --text and --input');
    const texts = a.text !== undefined ? [String(a.text)] : (a.input === '-' ? await readStdin() : readFileSync(String(a.input), 'utf8')).split('\n').map((l) => l.replace(/\r$/, '')).filter((l) => l.trim() !== '');
    if (texts.length === 0) throw new Error('classify: no text to classify');
    if (texts.some((t) => t.trim() === '')) throw new Error('classify: --text is empty');
    const { model, tokenizer, labels, meta } = loadClassifier(String(a.checkpoint), { device: a.device as Device | undefined });
    try {
      const size = Number(a['batch-size']);
      for (let i = 0; i < texts.length; i += size) {
        const chunk = texts.slice(i, i + size);
        const probs = await model.predict(tokenizer, chunk, { maxLength: meta.maxLength, padTokenId: meta.padTokenId });
        chunk.forEach((text, k) => {
          const p = probs[k]!;
          const best = p.indexOf(Math.max(...p));
          const probabilities = Object.fromEntries(labels.map((l, j) => [l, p[j]!]));
          if (a.json) process.stdout.write(`${JSON.stringify({ label: labels[best], probabilities, ...(texts.length > 1 ? { text } : {}) })}\n`);
          else process.stdout.write(`${labels[best]}\t${(100 * p[best]!).toFixed(1)}%${texts.length > 1 ? `\t${text}` : ''}\n`);
        });
      }
    } finally {
      model.dispose();
    }
    return 0;
  },
};
