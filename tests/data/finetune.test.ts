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

describe('fine-tuning data details', () => {
  it('masks every padding target with maskAllPadding (a tokenizer without an end-of-text token), and prompts after cropping', async () => {
    const { targets } = collateInstructions([[0, 1, 2, 3, 4], [5, 6]], { padTokenId: 0, maskAllPadding: true });
    expect(await targets.toArray()).toEqual([[1, 2, 3, 4, -100], [6, -100, -100, -100, -100]]);
    // a prompt of 4 tokens cropped to 3 positions: every target is prompt, none is learned
    const both = collateInstructions([[10, 11, 12, 13, 14, 15]], { allowedMaxLength: 3, promptLengths: [4] });
    expect(await both.inputs.toArray()).toEqual([[10, 11, 12]]);
    expect(await both.targets.toArray()).toEqual([[-100, -100, -100]]);
    // a real token equal to the padding id inside an example is kept
    const inner = collateInstructions([[7, 50256, 8], [9]]);
    expect(await inner.targets.toArray()).toEqual([[50256, 8, 50256], [50256, -100, -100]]);
  });

  it('reads labeled texts from TSV, CSV (quoted fields, any column order) and JSON lines, with errors naming the line', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { readLabeledTexts, numberLabels } = await import('@llmts/data');
    const dir = mkdtempSync(join(tmpdir(), 'labeled-'));
    const tsv = join(dir, 'a.tsv');
    writeFileSync(tsv, 'label\ttext\nspam\tWIN now\r\nham\tsee you\tlater\n\n');
    expect(readLabeledTexts(tsv)).toEqual([{ label: 'spam', text: 'WIN now' }, { label: 'ham', text: 'see you\tlater' }]);
    const csv = join(dir, 'b.csv');
    writeFileSync(csv, 'Text,Label\n"Hello, ""friend""\nsecond line",ham\nFree money,spam\n');
    expect(readLabeledTexts(csv)).toEqual([{ text: 'Hello, "friend"\nsecond line', label: 'ham' }, { text: 'Free money', label: 'spam' }]);
    const jsonl = join(dir, 'c.jsonl');
    writeFileSync(jsonl, '{"text": "good film", "label": 1}\n{"text": "dull", "label": 0}\n');
    const rows = readLabeledTexts(jsonl);
    expect(numberLabels(rows)).toEqual({ examples: [{ text: 'good film', label: 1 }, { text: 'dull', label: 0 }], labels: ['0', '1'] });
    expect(numberLabels(rows, ['1', '0']).examples.map((e) => e.label)).toEqual([0, 1]);
    expect(() => numberLabels(rows, ['1', '2'])).toThrow(/label '0' is not one of 1, 2/);
    writeFileSync(jsonl, '{"text": "ok", "label": "a"}\n{"txt": "no"}\n');
    expect(() => readLabeledTexts(jsonl)).toThrow(/c\.jsonl:2: expected \{"text": string, "label"/);
    writeFileSync(csv, 'words,class\nx,y\n');
    expect(() => readLabeledTexts(csv)).toThrow(/b\.csv: the first line must name a 'text' and a 'label' column/);
    writeFileSync(tsv, 'spam\tok\nno tab here\n');
    expect(() => readLabeledTexts(tsv)).toThrow(/a\.tsv:2: expected '<label>\\t<text>'/);
  });

  it('pads a classification batch to its longest text and reports each real length', async () => {
    const tok = gpt2Tokenizer();
    const ds = new ClassificationDataset([{ text: 'a b c d e f', label: 0 }, { text: 'hi', label: 1 }, { text: 'one two', label: 0 }], tok, { padTokenId: 50256 });
    expect(ds.lengths).toEqual([6, 1, 2]);
    const [b1, b2] = [...ds.batches({ batchSize: 2, padding: 'longest' })];
    expect(b1!.lengths).toEqual([6, 1]);
    expect(b1!.inputs.shape).toEqual([2, 6]);
    expect(b2!.inputs.shape).toEqual([1, 2]);
    expect((await b1!.inputs.toArray() as number[][])[1]).toEqual([...tok.encode('hi'), 50256, 50256, 50256, 50256, 50256]);
    const cut = new ClassificationDataset([{ text: 'a b c d e f', label: 0 }], tok, { maxLength: 3 });
    expect(cut.lengths).toEqual([3]);
  });
});
