import { prepareCorpus } from '@llmts/data';
import { ProgressLine, formatBytes, formatCount, formatDuration } from '@llmts/data/internal';
import type { CommandSpec } from '../args.ts';

export const prepareCommand: CommandSpec = {
  name: 'prepare',
  summary: 'tokenize .txt/.xz files into train.bin, val.bin and meta.json (streaming)',
  usage: 'llmts prepare --input <file or folder> --out <dir> --tokenizer char|bpe|gpt2|<tokenizer.json> [--vocab-size 4096] [--val-fraction 0.1]',
  flags: [
    { name: 'input', type: 'string', help: 'a .txt or .xz file, or a folder searched for them', required: true },
    { name: 'out', type: 'string', help: 'output directory', required: true },
    { name: 'tokenizer', type: 'string', help: 'char (built from the corpus), bpe (a byte-level BPE learned from the corpus, with <|endoftext|>), gpt2, or a tokenizer JSON file', choices: ['char', 'bpe', 'gpt2'], openChoices: true, required: true },
    { name: 'vocab-size', type: 'int', help: 'with --tokenizer bpe: the vocabulary to learn (256 bytes + merges + <|endoftext|>; default 4096)', min: 257 },
    { name: 'val-fraction', type: 'number', help: 'share of tokens held out for validation', default: 0.1, min: 0, max: 0.99 },
  ],
  async run(a) {
    const bar = new ProgressLine('prepare');
    const meta = await prepareCorpus({
      input: String(a.input),
      out: String(a.out),
      tokenizer: String(a.tokenizer),
      valFraction: Number(a['val-fraction']),
      ...(a['vocab-size'] !== undefined ? { vocabSize: Number(a['vocab-size']) } : {}),
      onProgress: (p) => {
        const s = bar.elapsed();
        const frac = p.totalBytes > 0 ? p.bytes / p.totalBytes : 0;
        const eta = frac > 0 ? (s / frac) * (1 - frac) : NaN;
        bar.update(p.phase === 'scan'
          ? `${a.tokenizer === 'bpe' ? 'reading the corpus for BPE' : 'scanning characters'} ${formatBytes(p.bytes)} / ${formatBytes(p.totalBytes)}`
          : `${formatBytes(p.bytes)} / ${formatBytes(p.totalBytes)} (${(100 * frac).toFixed(1)}%)  ${formatCount(p.tokens)} tokens  ${formatCount(p.tokens / Math.max(s, 1e-3))} tok/s  ETA ${formatDuration(eta)}`);
      },
    });
    bar.done(`${formatCount(meta.trainTokens)} train + ${formatCount(meta.valTokens)} val tokens (${meta.dtype}, vocab ${meta.vocabSize}) in ${formatDuration(bar.elapsed())} -> ${a.out}`);
    return 0;
  },
};
