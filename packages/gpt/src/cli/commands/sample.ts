import { readFileSync } from 'node:fs';
import { manualSeed } from '@llmts/tensor';
import type { Tokenizer } from '@llmts/data';
import { commonFlags, type CommandSpec, type ParsedArgs } from '../args.ts';
import { loadForInference, parseIds } from '../io.ts';
import { generate } from '../../generate.ts';
import { TextStream } from '../../text-stream.ts';

/** The prompt's token ids from exactly one of --prompt, --prompt-file, --prompt-ids (or the default start). */
function promptIds(a: ParsedArgs, tokenizer: Tokenizer): { ids: number[]; text: string | null } {
  const given = ['prompt', 'prompt-file', 'prompt-ids'].filter((f) => a[f] !== undefined);
  if (given.length > 1) throw new Error(`sample: give one of --prompt, --prompt-file and --prompt-ids, not ${given.map((f) => `--${f}`).join(' and ')}`);
  if (a['prompt-ids'] !== undefined) return { ids: parseIds(String(a['prompt-ids']), 'sample: --prompt-ids'), text: null };
  let text: string | null = null;
  if (a.prompt !== undefined) text = String(a.prompt);
  else if (a['prompt-file'] !== undefined) {
    const file = String(a['prompt-file']);
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new Error(`sample: --prompt-file ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    }
  }
  if (text !== null) return { ids: tokenizer.encode(text, { allowedSpecial: 'all' }), text };
  const eot = tokenizer.specialId('<|endoftext|>');
  return { ids: eot !== undefined ? [eot] : tokenizer.encode('\n'), text: null };
}

export const sampleCommand: CommandSpec = {
  name: 'sample',
  summary: 'generate text from a checkpoint',
  usage: 'llmts sample --checkpoint DIR [--prompt TEXT | --prompt-file FILE | --prompt-ids 1,2,3] [--num-samples N] [--max-new-tokens N] [--temperature T] [--top-k K] [--top-p P] [--seed S] [--json]',
  flags: [
    commonFlags.checkpoint,
    { name: 'prompt', type: 'string', help: 'text to continue (default: a newline, or <|endoftext|> for GPT-2 vocabularies)' },
    { name: 'prompt-file', type: 'string', help: 'a file whose text to continue' },
    { name: 'prompt-ids', type: 'string', help: 'token ids to continue, e.g. 1,2,3' },
    { name: 'num-samples', type: 'int', help: 'how many samples to draw (separated by a line of dashes; one JSON line each with --json)', default: 1, min: 1 },
    { name: 'max-new-tokens', type: 'int', help: 'tokens to generate', default: 500, min: 0 },
    { name: 'temperature', type: 'number', help: '0 = greedy; below 1 sharper, above 1 more random', default: 0.8, min: 0 },
    { name: 'top-k', type: 'int', help: 'sample only from the k most likely tokens', min: 1 },
    { name: 'top-p', type: 'number', help: 'sample from the smallest set of tokens with probability >= p', min: 0, max: 1 },
    { name: 'stop-token', type: 'int', help: 'stop after this token id', min: 0 },
    { name: 'seed', type: 'int', help: 'random seed', default: 1337, min: 0 },
    commonFlags.device,
    commonFlags.quantize,
    { name: 'no-cache', type: 'boolean', help: 'recompute every position each step instead of using the KV cache' },
    { name: 'json', type: 'boolean', help: 'print {"tokens": [new ids], "text": "..."} (one line per sample) instead of streaming text' },
  ],
  async run(a) {
    if (a['prompt-ids'] !== undefined) parseIds(String(a['prompt-ids']), 'sample: --prompt-ids'); // before the model loads
    const { model, tokenizer } = loadForInference(a);
    const { vocabSize } = model.config;
    const { ids: prompt, text } = promptIds(a, tokenizer);
    if (prompt.length === 0) throw new Error('sample: the prompt encodes to no tokens');
    for (const id of prompt) if (id >= vocabSize) throw new Error(`sample: prompt token ${id} is outside the vocabulary of ${vocabSize}`);
    const stopToken = a['stop-token'] as number | undefined;
    if (stopToken !== undefined && stopToken >= vocabSize) throw new Error(`sample: --stop-token ${stopToken} is outside the vocabulary of ${vocabSize}`);
    manualSeed(Number(a.seed));
    const samples = Number(a['num-samples']);
    for (let k = 0; k < samples; k++) {
      const stream = a.json ? null : new TextStream(tokenizer, (s) => process.stdout.write(s));
      if (stream && text !== null) process.stdout.write(text);
      const [tokens] = await generate(model, [prompt], {
        maxNewTokens: Number(a['max-new-tokens']),
        temperature: Number(a.temperature),
        topK: a['top-k'] as number | undefined,
        topP: a['top-p'] as number | undefined,
        stopToken,
        useCache: a['no-cache'] !== true,
        onToken: stream ? (t) => { stream.push(t); } : undefined,
      });
      if (stream) {
        stream.end();
        process.stdout.write(k + 1 < samples ? '\n---------------\n' : '\n');
      } else process.stdout.write(`${JSON.stringify({ tokens: tokens!, text: tokenizer.decode(tokens!) })}\n`);
    }
    return 0;
  },
};
