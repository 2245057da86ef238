import type { Device } from '@llmts/tensor';
import { commonFlags, type CommandSpec } from '../args.ts';
import { loraFlags, loraFromFlags } from '../lora.ts';
import { finetuneClassifier } from '../../finetune/classify.ts';
import { finetuneInstructions } from '../../finetune/instruct.ts';

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

const classify: CommandSpec = {
  name: 'classify',
  summary: 'fine-tune a pretrained GPT into a text classifier (the book\'s spam classifier)',
  usage: 'llmts finetune classify --checkpoint DIR --data FILE.tsv|.csv|.jsonl --out DIR [--epochs 5] [--trainable-blocks 1|all] [--lora-rank R]',
  flags: [
    { ...commonFlags.checkpoint, help: 'the pretrained model: a checkpoint made here, a training --out directory, or a Hugging Face GPT-2 directory' },
    { name: 'data', type: 'string', help: 'labeled texts: .tsv lines of label<TAB>text (the SMS spam collection), .csv with text and label columns, or .jsonl {"text", "label"}', required: true },
    { name: 'out', type: 'string', help: 'output directory: best/ and last/ checkpoints, metrics.json (accuracies, confusion matrix), log.jsonl, accuracy.svg/png, loss.svg/png', required: true },
    { name: 'epochs', type: 'int', help: 'passes over the training split', default: 5, min: 1 },
    { name: 'batch-size', type: 'int', help: 'texts per step', default: 8, min: 1 },
    { name: 'learning-rate', type: 'number', help: 'AdamW learning rate', default: 5e-5, min: 0 },
    { name: 'weight-decay', type: 'number', help: 'AdamW weight decay (matrices only)', default: 0.1, min: 0 },
    { name: 'grad-clip', type: 'number', help: 'clip the global gradient norm to this (0 = off)', default: 0, min: 0 },
    { name: 'trainable-blocks', type: 'string', help: 'transformer blocks that train, counted from the last, or "all" (embeddings too); the rest are frozen', default: '1' },
    { name: 'freeze-final-norm', type: 'boolean', help: 'keep the final LayerNorm frozen as well (by default it trains)' },
    { name: 'balance', type: 'boolean', help: 'undersample every class to the smallest (--balance=false keeps all texts)', default: true },
    { name: 'train-fraction', type: 'number', help: 'share of texts for training', default: 0.7, min: 0, below: 1 },
    { name: 'val-fraction', type: 'number', help: 'share of texts for validation (the rest is the test split)', default: 0.1, min: 0, below: 1 },
    { name: 'max-length', type: 'int', help: 'cut texts to this many tokens (default: the longest training text, at most the context)', min: 1 },
    { name: 'dropout', type: 'number', help: 'dropout while fine-tuning', default: 0, min: 0, below: 1 },
    { name: 'eval-batches', type: 'int', help: 'batches per split in each epoch\'s accuracy (default: the whole split)', min: 1 },
    { name: 'seed', type: 'int', help: 'random seed (balancing, split, order, head init)', default: 123, min: 0 },
    ...loraFlags,
    commonFlags.device,
    { name: 'force', type: 'boolean', help: 'replace a run already in --out' },
    { name: 'json', type: 'boolean', help: 'print the result (per-epoch accuracies, best epoch, confusion matrix) as JSON on stdout' },
  ],
  async run(a) {
    const blocks = String(a['trainable-blocks']);
    if (blocks !== 'all' && !/^\d+$/.test(blocks)) throw new Error(`finetune classify: --trainable-blocks must be a number of blocks or "all", got '${blocks}'`);
    if (Number(a['train-fraction']) + Number(a['val-fraction']) >= 1) throw new Error('finetune classify: --train-fraction plus --val-fraction must leave a test split (sum below 1)');
    const lora = loraFromFlags(a, 'finetune classify');
    const r = await finetuneClassifier({
      checkpoint: String(a.checkpoint), data: String(a.data), outDir: String(a.out),
      epochs: Number(a.epochs), batchSize: Number(a['batch-size']), learningRate: Number(a['learning-rate']), weightDecay: Number(a['weight-decay']), gradClip: Number(a['grad-clip']),
      trainableBlocks: blocks === 'all' ? 'all' : Number(blocks), trainFinalNorm: a['freeze-final-norm'] !== true, balance: a.balance !== false,
      trainFraction: Number(a['train-fraction']), valFraction: Number(a['val-fraction']),
      ...(a['max-length'] !== undefined ? { maxLength: Number(a['max-length']) } : {}),
      dropout: Number(a.dropout), ...(a['eval-batches'] !== undefined ? { evalBatches: Number(a['eval-batches']) } : {}),
      seed: Number(a.seed), ...(lora ? { lora } : {}), device: a.device as Device | undefined, force: a.force === true,
    });
    const { model, ...summary } = r;
    model.dispose();
    const b = r.best;
    process.stderr.write(`finetune classify: best epoch ${b.epoch}: accuracy train ${pct(b.train.accuracy)}, val ${pct(b.val.accuracy)}, test ${pct(b.test.accuracy)} in ${r.seconds.toFixed(1)} s -> ${r.outDir}\n`);
    process.stderr.write(`confusion matrix (test; rows true, columns predicted):\n${confusionText(r.labels, r.confusion)}\n`);
    if (a.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    return 0;
  },
};

/** A confusion matrix as an aligned table. */
export function confusionText(labels: readonly string[], m: readonly (readonly number[])[]): string {
  const w = Math.max(6, ...labels.map((l) => l.length), ...m.flat().map((v) => String(v).length)) + 2;
  const head = `${''.padEnd(w)}${labels.map((l) => l.padStart(w)).join('')}`;
  return [head, ...m.map((row, i) => `${labels[i]!.padEnd(w)}${row.map((v) => String(v).padStart(w)).join('')}`)].join('\n');
}

const instruct: CommandSpec = {
  name: 'instruct',
  summary: 'instruction fine-tuning on Alpaca-style data (the book\'s chapter 7)',
  usage: 'llmts finetune instruct --checkpoint DIR --data instruction-data.json --out DIR [--epochs 2] [--mask-prompt] [--lora-rank R]',
  flags: [
    { ...commonFlags.checkpoint, help: 'the pretrained model: a checkpoint made here, a training --out directory, or a Hugging Face GPT-2 directory' },
    { name: 'data', type: 'string', help: 'a JSON list of {"instruction", "input", "output"}', required: true },
    { name: 'out', type: 'string', help: 'output directory: best/ and last/ checkpoints, test-responses.json, metrics.json, log.jsonl, loss.svg/png', required: true },
    { name: 'epochs', type: 'int', help: 'passes over the training split', default: 2, min: 1 },
    { name: 'batch-size', type: 'int', help: 'examples per step (padded to the longest of the batch)', default: 8, min: 1 },
    { name: 'learning-rate', type: 'number', help: 'AdamW learning rate', default: 5e-5, min: 0 },
    { name: 'weight-decay', type: 'number', help: 'AdamW weight decay (matrices only)', default: 0.1, min: 0 },
    { name: 'grad-clip', type: 'number', help: 'clip the global gradient norm to this (0 = off)', default: 0, min: 0 },
    { name: 'mask-prompt', type: 'boolean', help: 'leave the prompt out of the loss (only responses are learned)' },
    { name: 'max-length', type: 'int', help: 'crop examples to this many tokens (default and at most: the model\'s context)', min: 2 },
    { name: 'train-fraction', type: 'number', help: 'share of examples for training', default: 0.85, min: 0, below: 1 },
    { name: 'test-fraction', type: 'number', help: 'share for the test split (the rest validates)', default: 0.1, min: 0, below: 1 },
    { name: 'shuffle', type: 'boolean', help: 'shuffle before splitting (default: split by position, as the book)' },
    { name: 'dropout', type: 'number', help: 'dropout while fine-tuning', default: 0, min: 0, below: 1 },
    { name: 'eval-interval', type: 'int', help: 'also estimate the losses every N steps (always after each epoch)', min: 1 },
    { name: 'eval-batches', type: 'int', help: 'batches per split in each loss estimate (default: the whole split)', min: 1 },
    { name: 'max-new-tokens', type: 'int', help: 'tokens per test response', default: 256, min: 1 },
    { name: 'responses', type: 'int', help: 'answer at most this many test examples (default: all)', min: 0 },
    { name: 'seed', type: 'int', help: 'random seed', default: 123, min: 0 },
    ...loraFlags,
    commonFlags.device,
    { name: 'force', type: 'boolean', help: 'replace a run already in --out' },
    { name: 'json', type: 'boolean', help: 'print the result (losses before/after, responses) as JSON on stdout' },
  ],
  async run(a) {
    if (Number(a['train-fraction']) + Number(a['test-fraction']) >= 1) throw new Error('finetune instruct: --train-fraction plus --test-fraction must leave a validation split (sum below 1)');
    const lora = loraFromFlags(a, 'finetune instruct');
    const r = await finetuneInstructions({
      checkpoint: String(a.checkpoint), data: String(a.data), outDir: String(a.out),
      epochs: Number(a.epochs), batchSize: Number(a['batch-size']), learningRate: Number(a['learning-rate']), weightDecay: Number(a['weight-decay']), gradClip: Number(a['grad-clip']),
      maskPrompt: a['mask-prompt'] === true, ...(a['max-length'] !== undefined ? { maxLength: Number(a['max-length']) } : {}),
      trainFraction: Number(a['train-fraction']), testFraction: Number(a['test-fraction']), shuffle: a.shuffle === true, dropout: Number(a.dropout),
      ...(a['eval-interval'] !== undefined ? { evalInterval: Number(a['eval-interval']) } : {}),
      ...(a['eval-batches'] !== undefined ? { evalBatches: Number(a['eval-batches']) } : {}),
      maxNewTokens: Number(a['max-new-tokens']), ...(a.responses !== undefined ? { responses: Number(a.responses) } : {}),
      seed: Number(a.seed), ...(lora ? { lora } : {}), device: a.device as Device | undefined, force: a.force === true,
    });
    const { model, ...summary } = r;
    model.dispose();
    process.stderr.write(`finetune instruct: loss train ${r.before.train.toFixed(4)} -> ${r.after.train.toFixed(4)}, val ${r.before.val.toFixed(4)} -> ${r.after.val.toFixed(4)} in ${r.seconds.toFixed(1)} s -> ${r.outDir}\n`);
    for (const e of r.responses.slice(0, 3)) process.stderr.write(`\n### Instruction: ${e.instruction}${e.input ? `\n### Input: ${e.input}` : ''}\n### Expected: ${e.output}\n### Model: ${e.model_response}\n`);
    if (a.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    return 0;
  },
};

export const finetuneCommand: CommandSpec = {
  name: 'finetune',
  summary: 'fine-tune a pretrained GPT: a text classifier, or an instruction follower (full or LoRA)',
  usage: 'llmts finetune classify|instruct --checkpoint DIR --data FILE --out DIR [flags]   (llmts finetune <command> --help)',
  flags: [],
  subcommands: [classify, instruct],
  run() {
    return Promise.resolve(2);
  },
};
