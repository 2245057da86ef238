import { createInterface } from 'node:readline';
import { manualSeed, type Device } from '@llmts/tensor';
import { commonFlags, type CommandSpec } from '../args.ts';
import { loadGPT } from '../../checkpoint.ts';
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
  ],
  async run(a) {
    const { model, tokenizer } = loadGPT(String(a.checkpoint), { device: a.device as Device | undefined });
    manualSeed(Number(a.seed));
    const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: process.stdin.isTTY === true });
    const eot = tokenizer.specialId('<|endoftext|>');
    process.stdout.write(`llmts chat: ${model.numParams().toLocaleString()} parameters, context ${model.config.blockSize}. Empty line or Ctrl-D to quit.\n`);
    const ask = () => new Promise<string | null>((resolve) => {
      rl.question('Prompt: ', resolve);
      rl.once('close', () => resolve(null));
    });
    for (;;) {
      const line = await ask();
      if (line === null || line.trim() === '') break;
      const prompt = tokenizer.encode(line, { specialAsText: true });
      if (prompt.length === 0) continue;
      process.stdout.write('Completion: ');
      const stream = new TextStream(tokenizer, (s) => process.stdout.write(s));
      await generate(model, [prompt.slice(-model.config.blockSize)], {
        maxNewTokens: Number(a['max-new-tokens']), temperature: Number(a.temperature), topK: a['top-k'] as number | undefined, topP: a['top-p'] as number | undefined,
        stopToken: eot, onToken: (t) => { if (t !== eot) stream.push(t); },
      });
      stream.end();
      process.stdout.write('\n');
    }
    rl.close();
    return 0;
  },
};
