import { createInterface } from 'node:readline';
import { manualSeed } from '@llmts/tensor';
import { formatChatPrompt, type Tokenizer } from '@llmts/data';
import { commonFlags, type CommandSpec } from '../args.ts';
import { loadForInference } from '../io.ts';
import { generate } from '../../generate.ts';
import { TextStream } from '../../text-stream.ts';

export const chatCommand: CommandSpec = {
  name: 'chat',
  summary: 'an interactive loop: type a prompt, the model continues it (the course\'s chatbot script)',
  usage: 'llmts chat --checkpoint DIR [--max-new-tokens N] [--temperature T] [--top-k K] [--top-p P] [--template auto|alpaca|none]',
  flags: [
    commonFlags.checkpoint,
    { name: 'max-new-tokens', type: 'int', help: 'tokens per reply', default: 150, min: 1 },
    { name: 'temperature', type: 'number', help: 'sampling temperature (0 = greedy)', default: 0.8, min: 0 },
    { name: 'top-k', type: 'int', help: 'sample from the k most likely tokens', min: 1 },
    { name: 'top-p', type: 'number', help: 'nucleus sampling threshold', min: 0, max: 1 },
    { name: 'seed', type: 'int', help: 'random seed', default: 1337 },
    { name: 'template', type: 'string', help: 'prompt format: alpaca wraps each line as an instruction ("### Instruction: … ### Response:"), none sends it as is; auto uses the one the checkpoint was instruction-tuned with', choices: ['auto', 'alpaca', 'none'], default: 'auto' },
    commonFlags.device,
    commonFlags.quantize,
  ],
  async run(a) {
    const { model, tokenizer, chatTemplate } = loadForInference(a);
    const template = a.template === 'auto' ? chatTemplate : a.template === 'alpaca' ? 'alpaca' : undefined;
    manualSeed(Number(a.seed));
    const interactive = process.stdin.isTTY === true;
    const rl = createInterface({ input: process.stdin, terminal: interactive });
    const eot = tokenizer.specialId('<|endoftext|>');
    process.stdout.write(`llmts chat: ${model.numParams().toLocaleString()} parameters, context ${model.config.blockSize}${template ? `, ${template} instruction format` : ''}. ${interactive ? 'Empty line or Ctrl-D to quit.' : 'Reading prompts from stdin, one per line.'}\n`);
    if (interactive) process.stdout.write('Prompt: ');
    // every line is read, also when they arrive faster than replies (piped input)
    for await (const line of rl) {
      if (line.trim() === '') {
        if (interactive) break;
        continue;
      }
      const { ids, skipped } = encodeKnown(tokenizer, template === 'alpaca' ? formatChatPrompt([{ role: 'user', content: line }]) : line);
      if (skipped.length > 0) process.stdout.write(`(left out characters the model does not know: ${skipped.map((c) => JSON.stringify(c)).join(' ')})\n`);
      if (ids.length > 0) {
        process.stdout.write(template ? 'Response: ' : 'Completion: ');
        // an instruction-tuned reply ends at end-of-text or where a new "###" section would start
        const reply = new SectionCut(template !== undefined, (s) => process.stdout.write(s));
        const stream = new TextStream(tokenizer, (s) => reply.push(s));
        await generate(model, [ids.slice(-model.config.blockSize)], {
          maxNewTokens: Number(a['max-new-tokens']), temperature: Number(a.temperature), topK: a['top-k'] as number | undefined, topP: a['top-p'] as number | undefined,
          stopToken: eot, onToken: (t) => {
            if (t !== eot) stream.push(t);
            return !reply.stopped;
          },
        });
        stream.end();
        reply.end();
        process.stdout.write('\n');
      }
      if (interactive) process.stdout.write('Prompt: ');
    }
    rl.close();
    model.dispose();
    return 0;
  },
};

/**
 * Passes text through until a "###" section marker (held back while it might be one), then stops.
 * Off, it passes everything.
 */
class SectionCut {
  stopped = false;
  private held = '';

  constructor(private readonly on: boolean, private readonly write: (s: string) => void) {}

  push(s: string): void {
    if (this.stopped) return;
    if (!this.on) {
      this.write(s);
      return;
    }
    const text = this.held + s;
    const at = text.indexOf('###');
    if (at >= 0) {
      this.write(text.slice(0, at).trimEnd());
      this.stopped = true;
      this.held = '';
      return;
    }
    // keep back trailing '#'s and whitespace that may start the marker
    const keep = /[\s#]*$/.exec(text)![0].length;
    this.write(text.slice(0, text.length - keep));
    this.held = text.slice(text.length - keep);
  }

  end(): void {
    if (!this.stopped) this.write(this.held.trimEnd());
    this.held = '';
  }
}

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
