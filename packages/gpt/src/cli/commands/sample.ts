import { manualSeed, type Device } from '@llmts/tensor';
import { commonFlags, type CommandSpec } from '../args.ts';
import { parseIds } from '../io.ts';
import { loadGPT } from '../../checkpoint.ts';
import { generate } from '../../generate.ts';
import { TextStream } from '../text-stream.ts';

export const sampleCommand: CommandSpec = {
  name: 'sample',
  summary: 'generate text from a checkpoint',
  usage: 'llmts sample --checkpoint DIR [--prompt TEXT | --prompt-ids 1,2,3] [--max-new-tokens N] [--temperature T] [--top-k K] [--top-p P] [--seed S] [--json]',
  flags: [
    commonFlags.checkpoint,
    { name: 'prompt', type: 'string', help: 'text to continue (default: a newline, or <|endoftext|> for GPT-2 vocabularies)' },
    { name: 'prompt-ids', type: 'string', help: 'token ids to continue, e.g. 1,2,3' },
    { name: 'max-new-tokens', type: 'int', help: 'tokens to generate', default: 500, min: 0 },
    { name: 'temperature', type: 'number', help: '0 = greedy; below 1 sharper, above 1 more random', default: 0.8, min: 0 },
    { name: 'top-k', type: 'int', help: 'sample only from the k most likely tokens', min: 1 },
    { name: 'top-p', type: 'number', help: 'sample from the smallest set of tokens with probability >= p', min: 0, max: 1 },
    { name: 'stop-token', type: 'int', help: 'stop after this token id', min: 0 },
    { name: 'seed', type: 'int', help: 'random seed', default: 1337 },
    commonFlags.device,
    { name: 'no-cache', type: 'boolean', help: 'recompute every position each step instead of using the KV cache' },
    { name: 'json', type: 'boolean', help: 'print {"tokens": [new ids], "text": "..."} instead of streaming text' },
  ],
  async run(a) {
    if (a.prompt !== undefined && a['prompt-ids'] !== undefined) throw new Error('sample: give --prompt or --prompt-ids, not both');
    const { model, tokenizer } = loadGPT(String(a.checkpoint), { device: a.device as Device | undefined });
    manualSeed(Number(a.seed));
    let prompt: number[];
    if (a['prompt-ids'] !== undefined) prompt = parseIds(String(a['prompt-ids']), 'sample: --prompt-ids');
    else if (a.prompt !== undefined) prompt = tokenizer.encode(String(a.prompt), { allowedSpecial: 'all' });
    else prompt = tokenizer.specialId('<|endoftext|>') !== undefined ? [tokenizer.specialId('<|endoftext|>')!] : tokenizer.encode('\n');
    if (prompt.length === 0) throw new Error('sample: the prompt encodes to no tokens');
    for (const id of prompt) if (id >= model.config.vocabSize) throw new Error(`sample: prompt token ${id} is outside the vocabulary of ${model.config.vocabSize}`);
    const stream = a.json ? null : new TextStream(tokenizer, (s) => process.stdout.write(s));
    if (stream && a.prompt !== undefined) process.stdout.write(String(a.prompt));
    const [tokens] = await generate(model, [prompt], {
      maxNewTokens: Number(a['max-new-tokens']),
      temperature: Number(a.temperature),
      topK: a['top-k'] as number | undefined,
      topP: a['top-p'] as number | undefined,
      stopToken: a['stop-token'] as number | undefined,
      useCache: a['no-cache'] !== true,
      onToken: stream ? (t) => { stream.push(t); } : undefined,
    });
    if (stream) {
      stream.end();
      process.stdout.write('\n');
    } else process.stdout.write(`${JSON.stringify({ tokens: tokens!, text: tokenizer.decode(tokens!) })}\n`);
    return 0;
  },
};
