import { createInterface } from 'node:readline';
import { manualSeed } from '@llmts/tensor';
import type { Tokenizer } from '@llmts/data';
import { commonFlags, type CommandSpec } from '../args.ts';
import { loadForInference } from '../io.ts';
import { generate } from '../../generate.ts';
import { TextStream } from '../text-stream.ts';

export const chatCommand: CommandSpec = {
  name: 'chat',
  summary: 'an interactive loop: type a prompt, the model continues it (the course\'s chatbot script)',
  usage: 'llmts chat --checkpoint DIR [--max-new-tokens N] [--temperature T] [--top-k K] [--top-p P]',
  flags: [
    commonFlags.checkpoint,
    { name: 'max-new-tokens', type: 'int', help: 'tokens per reply', default: 150, min: 1 },
    { name: 'temperature', type: 'number', help: 'sampling temperature (0 = greedy)', default: 0.8, min: 0 },
    { name: 'top-k', type: 'int', help: 'sample from the k most likely tokens', min: 1 },
    { name: 'top-p', type: 'number', help: 'nucleus sampling threshold', min: 0, max: 1 },
    { name: 'seed', type: 'int', help: 'random seed', default: 1337 },
    commonFlags.device,
    commonFlags.quantize,
  ],
  async run(a) {
    const { model, tokenizer } = loadForInference(a);
    manualSeed(Number(a.seed));
    const interactive = process.stdin.isTTY === true;
    const rl = createInterface({ input: process.stdin, terminal: interactive });
    const eot = tokenizer.specialId('<|endoftext|>');
    process.stdout.write(`llmts chat: ${model.numParams().toLocaleString()} parameters, context ${model.config.blockSize}. ${interactive ? 'Empty line or Ctrl-D to quit.' : 'Reading prompts from stdin, one per line.'}\n`);
    if (interactive) process.stdout.write('Prompt: ');
    // every line is read, also when they arrive faster than replies (piped input)
    for await (const line of rl) {
      if (line.trim() === '') {
        if (interactive) break;
        continue;
      }
      const { ids, skipped } = encodeKnown(tokenizer, line);
      if (skipped.length > 0) process.stdout.write(`(left out characters the model does not know: ${skipped.map((c) => JSON.stringify(c)).join(' ')})\n`);
      if (ids.length > 0) {
        process.stdout.write('Completion: ');
        const stream = new TextStream(tokenizer, (s) => process.stdout.write(s));
        await generate(model, [ids.slice(-model.config.blockSize)], {
          maxNewTokens: Number(a['max-new-tokens']), temperature: Number(a.temperature), topK: a['top-k'] as number | undefined, topP: a['top-p'] as number | undefined,
          stopToken: eot, onToken: (t) => { if (t !== eot) stream.push(t); },
        });
        stream.end();
        process.stdout.write('\n');
      }
      if (interactive) process.stdout.write('Prompt: ');
    }
    rl.close();
    model.dispose();
    return 0;
  },
};

/** The ids of `text`, leaving out characters the tokenizer cannot encode (a character vocabulary lacks them). */
function encodeKnown(tokenizer: Tokenizer, text: string): { ids: number[]; skipped: string[] } {
  try {
    return { ids: tokenizer.encode(text, { specialAsText: true }), skipped: [] };
  } catch {
    const skipped = new Set<string>();
    const known = [...text].filter((c) => {
      try {
        tokenizer.encode(c, { specialAsText: true });
        return true;
      } catch {
        skipped.add(c);
        return false;
      }
    });
    return { ids: tokenizer.encode(known.join(''), { specialAsText: true }), skipped: [...skipped] };
  }
}
