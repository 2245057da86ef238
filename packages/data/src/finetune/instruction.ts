/**
 * Instruction fine-tuning data in the Alpaca format, as in "Build an LLM from scratch" ch. 7:
 * the prompt template, the 85/10/5 train/test/val split, and collation that pads each batch to its
 * longest example, shifts targets by one, and masks padding (and optionally the prompt) with the
 * ignore index so the loss skips it.
 */
import { tensor, type Device, type Tensor } from '@llmts/tensor';
import type { Tokenizer } from '../tokenizers/tokenizer.ts';
import { indexBatches, seededPermutation } from '../batching.ts';

export interface InstructionExample {
  instruction: string;
  input: string;
  output: string;
}

/** The Alpaca prompt: instruction and (when present) input, ending before the response. */
export function formatInstructionPrompt(e: InstructionExample): string {
  const instruction = `Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n### Instruction:\n${e.instruction}`;
  return instruction + (e.input ? `\n\n### Input:\n${e.input}` : '');
}

/** The Alpaca preamble, used when a conversation brings no system message of its own. */
export const ALPACA_PREAMBLE = 'Below is an instruction that describes a task. Write a response that appropriately completes the request.';

/**
 * A conversation in the Alpaca format the instruction data uses: the system message (or Alpaca's
 * preamble), then each user turn as "### Instruction:" and each assistant turn as "### Response:",
 * ending with an open "### Response:" for the model to complete.
 * @example formatChatPrompt([{ role: 'user', content: 'Name a colour.' }])
 */
export function formatChatPrompt(messages: readonly { role: 'system' | 'user' | 'assistant'; content: string }[]): string {
  const system = messages.filter((m) => m.role === 'system').map((m) => m.content).join('\n\n');
  const turns = messages.filter((m) => m.role !== 'system').map((m) => (m.role === 'user' ? `### Instruction:\n${m.content}` : `### Response:\n${m.content}`));
  return `${system || ALPACA_PREAMBLE}\n\n${turns.join('\n\n')}\n\n### Response:\n`;
}

/** The prompt followed by the response section. */
export function formatInstructionExample(e: InstructionExample): string {
  return `${formatInstructionPrompt(e)}\n\n### Response:\n${e.output}`;
}

/** The book's split: first 85% train, next 10% test, the rest validation (optionally shuffled first). */
export function splitInstructionData<T>(data: readonly T[], options: { trainFraction?: number; testFraction?: number; shuffle?: boolean } = {}): { train: T[]; val: T[]; test: T[] } {
  const { trainFraction = 0.85, testFraction = 0.1, shuffle = false } = options;
  const items = shuffle ? seededPermutation(data.length).map((i) => data[i]!) : [...data];
  const nTrain = Math.floor(items.length * trainFraction);
  const nTest = Math.floor(items.length * testFraction);
  return { train: items.slice(0, nTrain), test: items.slice(nTrain, nTrain + nTest), val: items.slice(nTrain + nTest) };
}

/** Tokenized instruction examples, with the token length of each prompt (for prompt masking). */
export class InstructionDataset {
  readonly encoded: number[][];
  readonly promptLengths: number[];

  /** `unknown: 'skip'` leaves out characters a character vocabulary lacks (see `unknownCharacters`). */
  constructor(readonly examples: readonly InstructionExample[], tokenizer: Tokenizer, options: { unknown?: 'error' | 'skip' } = {}) {
    const o = { specialAsText: true, unknown: options.unknown };
    this.encoded = examples.map((e) => tokenizer.encode(formatInstructionExample(e), o));
    this.promptLengths = examples.map((e) => tokenizer.encode(`${formatInstructionPrompt(e)}\n\n### Response:\n`, o).length);
  }

  /** Number of examples. */
  get length(): number {
    return this.encoded.length;
  }
}

export interface CollateOptions {
  padTokenId?: number;
  ignoreIndex?: number;
  /** Truncate inputs and targets to this many tokens (e.g. the model's context length). */
  allowedMaxLength?: number;
  /** Token counts of each example's prompt: those target positions are masked too. */
  promptLengths?: readonly number[];
  /**
   * Mask every padding target, the first one too. By default the first stays as a target: with
   * `<|endoftext|>` as the padding token, the model learns to end its answer there.
   */
  maskAllPadding?: boolean;
  device?: Device;
}

/**
 * Pad a batch to its longest example + 1 with `padTokenId`; inputs drop the last token, targets the
 * first; every padding target after the first end-of-text one becomes `ignoreIndex`.
 * @example const { inputs, targets } = collateInstructions(batch, { allowedMaxLength: 1024 });
 */
export function collateInstructions(batch: readonly (readonly number[])[], options: CollateOptions = {}): { inputs: Tensor; targets: Tensor } {
  const { padTokenId = 50256, ignoreIndex = -100, allowedMaxLength, promptLengths, device, maskAllPadding = false } = options;
  if (batch.length === 0) throw new Error('collateInstructions: empty batch');
  const longest = Math.max(...batch.map((b) => b.length + 1));
  const width = Math.min(longest - 1, allowedMaxLength ?? Infinity);
  const inputs = new Int32Array(batch.length * width);
  const targets = new Int32Array(batch.length * width);
  batch.forEach((item, r) => {
    const padded = [...item, ...new Array(longest - item.length).fill(padTokenId)];
    let firstPad = !maskAllPadding;
    for (let i = 0; i < width; i++) {
      inputs[r * width + i] = padded[i]!;
      let t = padded[i + 1]!;
      if (i + 1 >= item.length && t === padTokenId) {
        if (firstPad) firstPad = false;
        else t = ignoreIndex;
      }
      if (promptLengths && i < promptLengths[r]! - 1) t = ignoreIndex;
      targets[r * width + i] = t;
    }
  });
  const opts = { dtype: 'int32' as const, device, shape: [batch.length, width] };
  return { inputs: tensor(inputs, opts), targets: tensor(targets, opts) };
}

/** Batches of an instruction dataset, in order or shuffled by the seeded generator. */
export function* instructionBatches(ds: InstructionDataset, options: CollateOptions & { batchSize: number; shuffle?: boolean; dropLast?: boolean; maskPrompt?: boolean }): Generator<{ inputs: Tensor; targets: Tensor }> {
  for (const idx of indexBatches(ds.length, options.batchSize, options)) {
    yield collateInstructions(idx.map((k) => ds.encoded[k]!), { ...options, promptLengths: options.maskPrompt ? idx.map((k) => ds.promptLengths[k]!) : undefined });
  }
}
