import { commonFlags, type CommandSpec } from '../args.ts';
import { parseIds, readStdin, resolveTokenizer } from '../io.ts';

export const tokenizeCommand: CommandSpec = {
  name: 'tokenize',
  summary: 'read text on stdin and print its token ids',
  usage: 'echo "Hello" | llmts tokenize --tokenizer gpt2|<tokenizer.json> [--json]',
  flags: [
    commonFlags.tokenizer,
    { name: 'json', type: 'boolean', help: 'print a JSON array instead of space-separated ids' },
  ],
  async run(a) {
    const tok = resolveTokenizer(String(a.tokenizer));
    const ids = tok.encode(await readStdin(), { allowedSpecial: 'all' });
    process.stdout.write(a.json ? `${JSON.stringify(ids)}\n` : `${ids.join(' ')}\n`);
    return 0;
  },
};

export const detokenizeCommand: CommandSpec = {
  name: 'detokenize',
  summary: 'read token ids on stdin (a JSON array, or numbers separated by spaces or commas) and print the text',
  usage: 'echo "[15496, 11]" | llmts detokenize --tokenizer gpt2|<tokenizer.json>',
  flags: [
    commonFlags.tokenizer,
  ],
  async run(a) {
    const tok = resolveTokenizer(String(a.tokenizer));
    const ids = parseIds(await readStdin(), 'detokenize: stdin');
    for (const id of ids) if (id >= tok.vocabSize) throw new Error(`detokenize: id ${id} is outside the vocabulary of ${tok.vocabSize}`);
    process.stdout.write(tok.decode(ids));
    return 0;
  },
};
