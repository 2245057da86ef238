// Fine-tuning end to end on a small GPT made here (a byte-level BPE with <|endoftext|>, random
// weights): the classifier reads each text's last real token, trains only what it should, and
// learns a separable task; instruction tuning lowers the loss and answers the test split; LoRA
// adapters train alone, save small, load onto their base and merge into equal outputs.
import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crossEntropy, hasBackend, manualSeed, noGrad, tensor, type Tensor } from '@llmts/tensor';
import { init as nnInit, LoRALinear } from '@llmts/nn';
import { loadInstructionData, trainBpe, type Tokenizer } from '@llmts/data';
import {
  GPT, GPTClassifier, addLoRA, finetuneClassifier, finetuneInstructions, loadClassifier, loadGPT, mergeAdapters, readAdapterConfig, saveGPT,
} from '@llmts/gpt';

const root = fileURLToPath(new URL('../..', import.meta.url));
const llmts = (args: string[], input?: string) =>
  spawnSync(process.execPath, [join(root, 'packages/gpt/bin/llmts.js'), ...args], { cwd: root, input, encoding: 'utf8', env: { ...process.env, LLMTS_DEVICE: 'cpu', LLMTS_QUIET: '1', LLMTS_WEBGPU: '0' }, timeout: 240_000 });
const values = async (t: Tensor) => Array.from(await t.data());

let dir = '';
let base = '';
let tokenizer: Tokenizer;

/** Texts whose label a model can learn from their words: offers are spam, plans are ham. */
function toyTexts(n: number): { text: string; label: string }[] {
  const offers = ['win a free prize now', 'claim your cash reward today', 'free entry to win money', 'urgent: you won a prize, call now'];
  const plans = ['see you at lunch tomorrow', 'can you call me after work', 'the meeting moved to monday', 'thanks for dinner last night'];
  return Array.from({ length: n }, (_, i) => (i % 2 === 0 ? { label: 'spam', text: `${offers[i % 4]} ${i}` } : { label: 'ham', text: `${plans[(i >> 1) % 4]} ${i}` }));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'finetune-'));
  const text = readFileSync(join(root, 'data/the-verdict.txt'), 'utf8');
  tokenizer = trainBpe(text, { vocabSize: 384, specialTokens: ['<|endoftext|>'] });
  manualSeed(11);
  const model = new GPT({ vocabSize: tokenizer.vocabSize, blockSize: 256, nLayer: 2, nHead: 2, nEmbd: 32, dropout: 0 });
  base = join(dir, 'base');
  await saveGPT(model, tokenizer, base);
  model.dispose();
});

describe('GPTClassifier', () => {
  it('reads each text at its last real token: padding changes nothing, and the logits are that hidden state times the head', async () => {
    const { model } = loadGPT(base, { device: 'cpu' });
    manualSeed(1);
    const clf = GPTClassifier.fromGPT(model, ['a', 'b', 'c']);
    clf.eval();
    const rows = [[5, 9, 33, 7, 81], [12, 3]];
    const padded = tensor([[5, 9, 33, 7, 81], [12, 3, 0, 0, 0]], { dtype: 'int32' });
    const batch = await values(noGrad(() => clf.forward(padded, [5, 2])));
    for (const [r, ids] of rows.entries()) {
      const alone = await values(noGrad(() => clf.forward(tensor([ids], { dtype: 'int32' }), [ids.length])));
      alone.forEach((v, k) => expect(batch[r * 3 + k]).toBeCloseTo(v, 5));
      const h = await values(noGrad(() => clf.transformer.forward(tensor([ids], { dtype: 'int32' }))));
      const last = h.slice((ids.length - 1) * 32, ids.length * 32);
      const W = await values(clf.score.weight);
      for (let k = 0; k < 3; k++) expect(alone[k]).toBeCloseTo(last.reduce((s, v, j) => s + v * W[k * 32 + j]!, 0), 5);
    }
    expect(() => clf.forward(padded, [5, 6])).toThrow(/row 1 has length 6, outside 1\.\.5/);
    clf.dispose();
  });
});

describe('finetune classify', () => {
  it('learns a separable task, trains only the last block, the final norm and the head, and saves a classifier that loads and predicts the same', async () => {
    const before = loadGPT(base, { device: 'cpu' });
    const frozenBefore = await Promise.all(['transformer.wte.weight', 'transformer.h.0.attn.c_attn.weight', 'transformer.wpe.weight'].map((n) => values(before.model.stateDict()[n]!)));
    const lastBefore = await values(before.model.stateDict()['transformer.h.1.mlp.c_fc.weight']!);
    before.model.dispose();
    const out = join(dir, 'clf');
    const r = await finetuneClassifier({ checkpoint: base, data: toyTexts(80), outDir: out, epochs: 4, batchSize: 8, learningRate: 3e-3, progress: false });
    expect(r.labels).toEqual(['ham', 'spam']);
    expect(r.examples).toEqual({ train: 56, val: 8, test: 16 });
    expect(r.epochs.map((e) => e.epoch)).toEqual([0, 1, 2, 3, 4]);
    expect(r.best.test.accuracy).toBeGreaterThanOrEqual(0.9);
    expect(r.confusion.flat().reduce((a, b) => a + b, 0)).toBe(16);
    expect(r.trainable).toBeLessThan(r.total / 2);
    const sd = r.model.stateDict();
    const frozenAfter = await Promise.all(['transformer.wte.weight', 'transformer.h.0.attn.c_attn.weight', 'transformer.wpe.weight'].map((n) => values(sd[n]!)));
    expect(frozenAfter).toEqual(frozenBefore);
    expect(await values(sd['transformer.h.1.mlp.c_fc.weight']!)).not.toEqual(lastBefore);
    for (const f of ['metrics.json', 'log.jsonl', 'accuracy.svg', 'accuracy.png', 'loss.svg', 'best/model.safetensors', 'last/optimizer.safetensors']) expect(existsSync(join(out, f)), f).toBe(true);
    const config = JSON.parse(readFileSync(join(out, 'best/config.json'), 'utf8')) as Record<string, unknown>;
    expect(config.architectures).toEqual(['GPT2ForSequenceClassification']);
    expect(config.id2label).toEqual({ 0: 'ham', 1: 'spam' });
    expect(config.pad_token_id).toBe(tokenizer.specialId('<|endoftext|>'));
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as { best: { epoch: number }; confusion: number[][] };
    expect(metrics.confusion).toEqual(r.confusion);
    // the saved best model predicts as the run's model did at its best epoch
    const loaded = loadClassifier(out, { device: 'cpu' });
    expect(loaded.labels).toEqual(['ham', 'spam']);
    const texts = ['win a free prize now 1001', 'see you at lunch tomorrow 1002'];
    const probs = await loaded.model.predict(loaded.tokenizer, texts);
    expect(probs[0]![1]).toBeGreaterThan(0.5);
    expect(probs[1]![0]).toBeGreaterThan(0.5);
    if (metrics.best.epoch === 4) {
      const mine = await r.model.predict(tokenizer, texts);
      mine.flat().forEach((v, i) => expect(probs.flat()[i]).toBeCloseTo(v, 5));
    }
    const cli = llmts(['classify', '--checkpoint', out, '--text', texts[0]!, '--json']);
    expect(cli.status, cli.stderr).toBe(0);
    const answer = JSON.parse(cli.stdout) as { label: string; probabilities: Record<string, number> };
    expect(answer.label).toBe('spam');
    expect(Object.keys(answer.probabilities)).toEqual(['ham', 'spam']);
    expect(answer.probabilities.spam).toBeCloseTo(probs[0]![1]!, 4);
    expect(answer.probabilities.ham! + answer.probabilities.spam!).toBeCloseTo(1, 5);
    r.model.dispose();
    loaded.model.dispose();
  });

  it('with LoRA trains only the adapters and the head, saves a small PEFT adapter that loads onto its base and merges into equal predictions', async () => {
    const out = join(dir, 'clf-lora');
    const r = await finetuneClassifier({ checkpoint: base, data: toyTexts(80), outDir: out, epochs: 3, learningRate: 1e-2, lora: { rank: 4, alpha: 8, dropout: 0, targets: ['attn', 'mlp'] }, progress: false });
    const adapters = 2 * (4 * 32 + 96 * 4) + 2 * (4 * 32 + 32 * 4) + 2 * (4 * 32 + 128 * 4) + 2 * (4 * 128 + 32 * 4);
    expect(r.trainable).toBe(adapters + 2 * 32);
    expect(r.best.test.accuracy).toBeGreaterThanOrEqual(0.75);
    const best = join(out, 'best');
    expect(existsSync(join(best, 'model.safetensors'))).toBe(false);
    expect(statSync(join(best, 'adapter_model.safetensors')).size).toBeLessThan(4 * (adapters + 64) + 4096);
    const ac = readAdapterConfig(best);
    expect(ac.taskType).toBe('SEQ_CLS');
    expect(ac.modulesToSave).toEqual(['score']);
    expect(ac.base).toBe(base);
    const loaded = loadClassifier(out, { device: 'cpu' });
    const texts = ['claim your cash reward today 7', 'thanks for dinner last night 8'];
    const unmerged = await loaded.model.predict(loaded.tokenizer, texts);
    const exported = join(dir, 'clf-merged');
    const e = llmts(['export', '--checkpoint', out, '--out', exported, '--merge-lora']);
    expect(e.status, e.stderr).toBe(0);
    expect(e.stderr).toMatch(/8 LoRA layers merged/);
    const merged = loadClassifier(exported, { device: 'cpu' });
    const after = await merged.model.predict(merged.tokenizer, texts);
    after.flat().forEach((v, i) => expect(v).toBeCloseTo(unmerged.flat()[i]!, 5));
    for (const m of [r.model, loaded.model, merged.model]) m.dispose();
  });

  it('refuses data with one label and a checkpoint that is not a classifier', async () => {
    await expect(finetuneClassifier({ checkpoint: base, data: [{ text: 'a', label: 'x' }, { text: 'b', label: 'x' }], outDir: join(dir, 'one'), progress: false })).rejects.toThrow(/only the label "x"/);
    expect(() => loadClassifier(base, { device: 'cpu' })).toThrow(/not a classifier/);
  });
});

describe('finetune instruct', () => {
  const data = loadInstructionData(join(root, 'data/instruction-data.json')).slice(0, 48);

  it('lowers the loss, keeps the best epoch, answers the test split and marks the checkpoint for chat', async () => {
    const out = join(dir, 'instruct');
    const r = await finetuneInstructions({ checkpoint: base, data, outDir: out, epochs: 2, batchSize: 8, learningRate: 3e-3, maxNewTokens: 12, progress: false });
    expect(r.examples).toEqual({ train: 40, test: 4, val: 4 });
    expect(r.after.train).toBeLessThan(r.before.train - 0.5);
    expect(r.after.val).toBeLessThan(r.before.val);
    const responses = JSON.parse(readFileSync(join(out, 'test-responses.json'), 'utf8')) as { instruction: string; output: string; model_response: string }[];
    expect(responses.map((x) => x.instruction)).toEqual(data.slice(40, 44).map((x) => x.instruction));
    for (const x of responses) expect(typeof x.model_response).toBe('string');
    const config = JSON.parse(readFileSync(join(out, 'best/config.json'), 'utf8')) as { llmts: { chatTemplate: string } };
    expect(config.llmts.chatTemplate).toBe('alpaca');
    expect(JSON.parse(readFileSync(join(out, 'best/tokenizer_config.json'), 'utf8')).chat_template).toMatch(/### Instruction/);
    expect(loadGPT(out, { device: 'cpu' }).chatTemplate).toBe('alpaca');
    const chat = llmts(['chat', '--checkpoint', out, '--max-new-tokens', '6', '--temperature', '0'], 'Name a colour.\n');
    expect(chat.status, chat.stderr).toBe(0);
    expect(chat.stdout).toMatch(/alpaca instruction format[\s\S]*Response: /);
    r.model.dispose();
  });

  it('with --mask-prompt learns from responses only: a different loss from the start (other tokens count), still falling', async () => {
    const masked = await finetuneInstructions({ checkpoint: base, data, outDir: join(dir, 'instruct-masked'), epochs: 1, learningRate: 3e-3, maskPrompt: true, responses: 0, progress: false });
    expect(Number.isFinite(masked.after.val)).toBe(true);
    expect(masked.after.train).toBeLessThan(masked.before.train);
    const full = await finetuneInstructions({ checkpoint: base, data, outDir: join(dir, 'instruct-full'), epochs: 1, learningRate: 3e-3, responses: 0, progress: false });
    expect(Math.abs(full.before.train - masked.before.train)).toBeGreaterThan(1e-3);
    full.model.dispose();
    expect(masked.responses).toEqual([]);
    masked.model.dispose();
  });
});

describe('fine-tuning a character-level model', () => {
  const charModel = join(root, 'tests/fixtures/llmts-trained');

  it('leaves out characters its vocabulary lacks (the Alpaca "#", digits) instead of failing, for both fine-tunings', async () => {
    const data = loadInstructionData(join(root, 'data/instruction-data.json')).slice(0, 20);
    const r = await finetuneInstructions({ checkpoint: charModel, data, outDir: join(dir, 'char-instruct'), epochs: 1, learningRate: 1e-3, responses: 1, maxNewTokens: 4, progress: false });
    expect(r.responses).toHaveLength(1);
    expect(Number.isFinite(r.after.val)).toBe(true);
    r.model.dispose();
    const c = await finetuneClassifier({ checkpoint: charModel, data: toyTexts(40), outDir: join(dir, 'char-clf'), epochs: 1, progress: false });
    expect(c.epochs).toHaveLength(2);
    const loaded = loadClassifier(join(dir, 'char-clf'), { device: 'cpu' });
    expect((await loaded.model.predict(loaded.tokenizer, ['Call 0800 123 456 now!']))[0]!.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    c.model.dispose();
    loaded.model.dispose();
  });
});

describe('LoRA on a language model', () => {
  it('saves adapters alone, loads them onto the base, and merges (tied head included) into equal logits; export --merge-lora writes the same model', async () => {
    const { model } = loadGPT(base, { device: 'cpu' });
    const report = addLoRA(model, { rank: 4, alpha: 8, dropout: 0, targets: ['attn', 'mlp', 'head'] });
    expect(report.layers).toHaveLength(9);
    manualSeed(2);
    for (const m of model.modules()) if (m instanceof LoRALinear) nnInit.normal_(m.lora_B, 0, 0.05);
    const x = tensor([[3, 17, 44, 9, 120, 5]], { dtype: 'int32' });
    const want = await values(noGrad(() => model.forward(x, null, { allLogits: true }).logits));
    const adapterDir = join(dir, 'lm-adapter');
    await saveGPT(model, tokenizer, adapterDir, { lora: { settings: { rank: 4, alpha: 8, dropout: 0, targets: ['attn', 'mlp', 'head'] }, base } });
    expect(existsSync(join(adapterDir, 'model.safetensors'))).toBe(false);
    const reloaded = loadGPT(adapterDir, { device: 'cpu' });
    expect(reloaded.adapter?.layers).toHaveLength(9);
    const got = await values(noGrad(() => reloaded.model.forward(x, null, { allLogits: true }).logits));
    got.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 5));
    mergeAdapters(model);
    expect(model.config.tiedEmbeddings).toBe(false);
    const merged = await values(noGrad(() => model.forward(x, null, { allLogits: true }).logits));
    merged.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 4));
    const exported = join(dir, 'lm-merged');
    expect(llmts(['export', '--checkpoint', adapterDir, '--out', join(dir, 'x')]).stderr).toMatch(/is a LoRA adapter .*--merge-lora/);
    const e = llmts(['export', '--checkpoint', adapterDir, '--out', exported, '--merge-lora']);
    expect(e.status, e.stderr).toBe(0);
    const fromDisk = loadGPT(exported, { device: 'cpu' });
    const disk = await values(noGrad(() => fromDisk.model.forward(x, null, { allLogits: true }).logits));
    disk.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 4));
    for (const m of [model, reloaded.model, fromDisk.model]) m.dispose();
  });

  it('llmts train --init-from … --lora-rank trains adapters only, says so, leaves the base alone and resumes', () => {
    const data = join(dir, 'corpus');
    const tokFile = join(base, 'tokenizer.json');
    expect(llmts(['prepare', '--input', 'data/the-verdict.txt', '--out', data, '--tokenizer', tokFile]).status).toBe(0);
    const baseWeights = readFileSync(join(base, 'model.safetensors'));
    const out = join(dir, 'lora-run');
    const common = ['--preset', 'shakespeare-char-cpu', '--data', data, '--out', out, '--eval-interval', '4', '--eval-iters', '1', '--batch-size', '4', '--block-size', '32'];
    expect(llmts(['train', ...common, '--lora-rank', '2']).stderr).toMatch(/--lora-rank adapts a pretrained model; give it with --init-from/);
    const t = llmts(['train', ...common, '--init-from', base, '--lora-rank', '2', '--lora-alpha', '4', '--lora-targets', 'attn', '--max-iters', '8', '--learning-rate', '1e-2']);
    expect(t.status, t.stderr).toBe(0);
    expect(t.stderr).toMatch(/LoRA rank 2 \(alpha 4\) on attn: 768 of [\d,]+ parameters train/);
    expect(readAdapterConfig(join(out, 'last')).targetModules).toEqual(['transformer.h.0.attn.c_attn', 'transformer.h.0.attn.c_proj', 'transformer.h.1.attn.c_attn', 'transformer.h.1.attn.c_proj']);
    expect(readFileSync(join(base, 'model.safetensors')).equals(baseWeights)).toBe(true);
    const resumed = llmts(['train', ...common, '--resume', '--max-iters', '12']);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/train: 12 iterations/);
    const sample = llmts(['sample', '--checkpoint', out, '--prompt', 'I had', '--max-new-tokens', '5', '--temperature', '0']);
    expect(sample.status, sample.stderr).toBe(0);
  });
});

describe.skipIf(!hasBackend('gpu'))('fine-tuning on the GPU', () => {
  it('a LoRA classifier step gives the CPU\'s logits, loss and adapter gradients', async () => {
    const grads: number[][][] = [];
    const outs: number[][] = [];
    for (const device of ['cpu', 'gpu'] as const) {
      const { model } = loadGPT(base, { device });
      manualSeed(8);
      const clf = GPTClassifier.fromGPT(model, ['no', 'yes']);
      addLoRA(clf, { rank: 2, alpha: 4, dropout: 0, targets: ['attn', 'mlp'] }, ['score.weight']);
      for (const m of clf.modules()) if (m instanceof LoRALinear) nnInit.normal_(m.lora_B, 0, 0.1);
      const x = tensor([[5, 9, 33, 7, 81], [12, 3, 0, 0, 0]], { dtype: 'int32', device });
      const logits = clf.forward(x, [5, 2]);
      const loss = crossEntropy(logits, tensor([1, 0], { dtype: 'int32', device }));
      loss.backward();
      outs.push([...(await values(logits)), await loss.item()]);
      grads.push(await Promise.all(clf.parameters().filter((p) => p.requiresGrad).map((p) => values(p.grad!))));
      clf.dispose();
    }
    outs[1]!.forEach((v, i) => expect(v).toBeCloseTo(outs[0]![i]!, 4));
    grads[1]!.forEach((g, k) => g.forEach((v, i) => expect(v).toBeCloseTo(grads[0]![k]![i]!, 4)));
  });
});

const shared = join(root, '../shared/fixtures/hf-gpt2-tiny');
describe.skipIf(!existsSync(shared))('fine-tuning a Hugging Face GPT-2 directory (../shared/fixtures/hf-gpt2-tiny)', () => {
  it('classify with LoRA, instruct in full: both run on the transformers checkpoint and its GPT-2 tokenizer', async () => {
    const c = await finetuneClassifier({ checkpoint: shared, data: toyTexts(40), outDir: join(dir, 'hf-clf'), epochs: 1, lora: { rank: 2, alpha: 2, dropout: 0, targets: ['attn'] }, progress: false });
    expect(readAdapterConfig(join(dir, 'hf-clf', 'best')).base).toBe(shared);
    c.model.dispose();
    const data = loadInstructionData(join(root, 'data/instruction-data.json')).slice(0, 16);
    const r = await finetuneInstructions({ checkpoint: shared, data, outDir: join(dir, 'hf-instruct'), epochs: 1, learningRate: 1e-3, responses: 1, maxNewTokens: 3, progress: false });
    expect(r.after.train).toBeLessThan(r.before.train);
    expect(loadGPT(join(dir, 'hf-instruct'), { device: 'cpu' }).tokenizer.specialId('<|endoftext|>')).toBe(50256);
    r.model.dispose();
  });
});
