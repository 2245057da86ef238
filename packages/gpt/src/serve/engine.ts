/**
 * One model, many requests: jobs wait in a queue and run one after another (never interleaved),
 * each generating its `n` choices as one batch. Text comes out incrementally per choice, holding
 * back what could still become a stop sequence or an unfinished UTF-8 character; a job whose
 * client went away is skipped, or stopped mid-generation.
 */
import { manualSeed } from '@llmts/tensor';
import type { Tokenizer } from '@llmts/data';
import type { GPT } from '../model.ts';
import { generate } from '../generate.ts';

export type FinishReason = 'stop' | 'length';

/** How a job samples: what both endpoints' requests carry. */
export interface GenerationSettings {
  maxTokens: number;
  temperature: number;
  topP: number;
  stop: string[];
  seed: number | undefined;
  n: number;
}

export interface Job extends GenerationSettings {
  prompt: number[];
  /** New text of choice `index` as it becomes final. */
  onDelta?: (index: number, text: string) => void;
  /** Set when the client is gone: the job is skipped or stopped. */
  cancelled: () => boolean;
}

export interface JobResult {
  choices: { text: string; finishReason: FinishReason }[];
  promptTokens: number;
  completionTokens: number;
}

/** The text of one choice, released as far as it can no longer change. */
class ChoiceText {
  readonly tokens: number[] = [];
  text = '';
  emitted = 0;
  finish: FinishReason | null = null;

  constructor(private readonly tokenizer: Tokenizer, private readonly stop: string[], private readonly eos: number | undefined, private readonly emit: (s: string) => void) {}

  /** Take one generated token; true once the choice is finished. */
  push(token: number): boolean {
    if (this.finish !== null) return true;
    if (token === this.eos) return this.end('stop');
    this.tokens.push(token);
    const all = this.tokenizer.decode(this.tokens);
    const stable = all.replace(/\ufffd+$/, ''); // a character whose bytes have not all arrived
    for (const s of this.stop) {
      const at = stable.indexOf(s, Math.max(0, this.emitted - s.length));
      if (at >= 0) {
        this.text = stable.slice(0, at);
        return this.end('stop');
      }
    }
    this.text = stable;
    const hold = Math.max(0, ...this.stop.map((s) => s.length - 1));
    this.release(Math.max(this.emitted, stable.length - hold));
    return false;
  }

  /** Finish, releasing whatever text was held back. */
  end(reason: FinishReason): boolean {
    if (this.finish === null) {
      if (reason === 'length') this.text = this.tokenizer.decode(this.tokens);
      this.release(this.text.length);
      this.finish = reason;
    }
    return true;
  }

  private release(upTo: number): void {
    if (upTo > this.emitted) {
      this.emit(this.text.slice(this.emitted, upTo));
      this.emitted = upTo;
    }
  }
}

export class Engine {
  private tail: Promise<unknown> = Promise.resolve();
  private waiting = 0;

  constructor(readonly model: GPT, readonly tokenizer: Tokenizer) {}

  /** Jobs queued or running. */
  get pending(): number {
    return this.waiting;
  }

  /** Run `job` after the jobs before it; resolves with its choices, or null if it was cancelled. */
  run(job: Job): Promise<JobResult | null> {
    this.waiting++;
    const result = this.tail.then(() => (job.cancelled() ? null : this.generateFor(job)));
    this.tail = result.catch(() => {}).finally(() => { this.waiting--; });
    return result;
  }

  /** Resolves once every queued job has finished. */
  async drain(): Promise<void> {
    while (this.waiting > 0) await this.tail;
  }

  private async generateFor(job: Job): Promise<JobResult> {
    if (job.seed !== undefined) manualSeed(job.seed);
    const eos = this.tokenizer.specialId('<|endoftext|>');
    const choices = Array.from({ length: job.n }, (_, i) => new ChoiceText(this.tokenizer, job.stop, eos, (s) => job.onDelta?.(i, s)));
    let generated = 0;
    await generate(this.model, choices.map(() => job.prompt), {
      maxNewTokens: job.maxTokens,
      temperature: job.temperature,
      ...(job.topP < 1 ? { topP: job.topP } : {}),
      onStep: (tokens) => {
        let open = 0;
        tokens.forEach((t, i) => {
          if (choices[i]!.finish !== null) return;
          generated++;
          if (!choices[i]!.push(t)) open++;
        });
        return open > 0 && !job.cancelled();
      },
    });
    for (const c of choices) c.end('length');
    return { choices: choices.map((c) => ({ text: c.text, finishReason: c.finish! })), promptTokens: job.prompt.length, completionTokens: generated };
  }
}
