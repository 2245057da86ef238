import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { manualSeed } from '@llmts/tensor';
import {
  ClassificationDataset, InstructionDataset, balanceClasses, collateInstructions, formatInstructionExample, formatInstructionPrompt, gpt2Tokenizer,
  instructionBatches, loadInstructionData, loadSmsSpam, randomSplit, splitInstructionData,
} from '@llmts/data';

const data = (p: string) => fileURLToPath(new URL(`../../data/${p}`, import.meta.url));

describe('instruction data (Alpaca format)', () => {
  const entries = loadInstructionData(data('instruction-data.json'));

  it('loads 1,100 entries and formats the course\'s prompt', () => {
    expect(entries.length).toBe(1100);
    const withInput = entries.find((e) => e.input !== '')!;
    expect(formatInstructionPrompt(withInput)).toBe(
      `Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n### Instruction:\n${withInput.instruction}\n\n### Input:\n${withInput.input}`,
    );
    const noInput = entries.find((e) => e.input === '')!;
    expect(formatInstructionExample(noInput)).toBe(
      `Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n### Instruction:\n${noInput.instruction}\n\n### Response:\n${noInput.output}`,
    );
  });

  it('splits 85/10/5 into train/test/val like the book', () => {
    const { train, test, val } = splitInstructionData(entries);
    expect([train.length, test.length, val.length]).toEqual([935, 110, 55]);
    expect(train[0]).toBe(entries[0]);
    expect(val[54]).toBe(entries[1099]);
  });

  it('collates with padding, shifted targets, ignore-index masking and truncation (the book\'s example)', async () => {
    const { inputs, targets } = collateInstructions([[0, 1, 2, 3, 4], [5, 6], [7, 8, 9]]);
    expect(await inputs.toArray()).toEqual([[0, 1, 2, 3, 4], [5, 6, 50256, 50256, 50256], [7, 8, 9, 50256, 50256]]);
    expect(await targets.toArray()).toEqual([[1, 2, 3, 4, 50256], [6, 50256, -100, -100, -100], [8, 9, 50256, -100, -100]]);
    const cut = collateInstructions([[0, 1, 2, 3, 4], [5, 6]], { allowedMaxLength: 3 });
    expect(await cut.targets.toArray()).toEqual([[1, 2, 3], [6, 50256, -100]]);
    const masked = collateInstructions([[0, 1, 2, 3, 4]], { promptLengths: [3] });
    expect(await masked.targets.toArray()).toEqual([[-100, -100, 3, 4, 50256]]);
  });

  it('tokenizes with GPT-2 and batches, optionally masking the prompt', async () => {
    const ds = new InstructionDataset(entries.slice(0, 5), gpt2Tokenizer());
    expect(ds.encoded[0]!.slice(0, 4)).toEqual(gpt2Tokenizer().encode('Below is an instruction'));
    const batches = [...instructionBatches(ds, { batchSize: 2, maskPrompt: true })];
    expect(batches.map((b) => b.inputs.shape[0])).toEqual([2, 2, 1]);
    const t = (await batches[0]!.targets.toArray()) as number[][];
    expect(t[0]!.slice(0, ds.promptLengths[0]! - 1).every((v) => v === -100)).toBe(true);
    expect(t[0]![ds.promptLengths[0]! - 1]).not.toBe(-100);
  });
});

describe('classification data (SMS spam)', () => {
  it('balances classes, splits 70/10/20, pads to the longest message', async () => {
    const all = loadSmsSpam(data('sms_spam.tsv'));
    expect(all.length).toBe(5574);
    expect(all.filter((e) => e.label === 1).length).toBe(747);
    manualSeed(123);
    const balanced = balanceClasses(all);
    expect(balanced.length).toBe(1494);
    expect(balanced.filter((e) => e.label === 0).length).toBe(747);
    const { train, val, test } = randomSplit(balanced, 0.7, 0.1);
    expect([train.length, val.length, test.length]).toEqual([1045, 149, 300]);
    const tok = gpt2Tokenizer();
    const ds = new ClassificationDataset(train, tok);
    const longest = Math.max(...train.map((e) => tok.encode(e.text, { specialAsText: true }).length));
    expect(ds.maxLength).toBe(longest);
    const [batch] = [...ds.batches({ batchSize: 8 })];
    expect(batch!.inputs.shape).toEqual([8, longest]);
    expect(await batch!.labels.toArray()).toEqual(train.slice(0, 8).map((e) => e.label));
    const short = new ClassificationDataset(test, tok, { maxLength: 16 });
    expect(short.encoded.every((e) => e.length === 16)).toBe(true);
  });
});
