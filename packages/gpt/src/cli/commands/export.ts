import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Device } from '@llmts/tensor';
import { readJsonFile, resolveCheckpointDir } from '@llmts/nn';
import { commonFlags, type CommandSpec } from '../args.ts';
import { loadGPT, resolveModelDir } from '../../checkpoint.ts';
import { saveGPT } from '../../hf/export.ts';
import { isAdapterDir, mergeAdapters } from '../../finetune/lora.ts';
import { isClassifierConfig, loadClassifier, saveClassifier } from '../../finetune/classifier-files.ts';

export const exportCommand: CommandSpec = {
  name: 'export',
  summary: 'write a checkpoint as a Hugging Face GPT-2 directory (transformers loads it); --merge-lora folds LoRA adapters in',
  usage: 'llmts export --checkpoint DIR --out DIR [--merge-lora]',
  flags: [
    commonFlags.checkpoint,
    { name: 'out', type: 'string', help: 'the directory to write (config.json, model.safetensors, tokenizer.json, …)', required: true },
    { name: 'merge-lora', type: 'boolean', help: 'the checkpoint is a LoRA adapter: merge it into its base\'s weights and write the full model' },
    { ...commonFlags.device, default: 'cpu' },
  ],
  async run(a) {
    const dir = resolveCheckpointDir(resolveModelDir(String(a.checkpoint)));
    const adapter = isAdapterDir(dir);
    if (adapter && a['merge-lora'] !== true) throw new Error(`export: ${dir} is a LoRA adapter (adapter_config.json); pass --merge-lora to write its base with the adapters merged in`);
    if (!adapter && a['merge-lora'] === true) throw new Error(`export: ${dir} has no LoRA adapter to merge (no adapter_config.json)`);
    const device = a.device as Device;
    const config = existsSync(join(dir, 'config.json')) ? readJsonFile(join(dir, 'config.json')) : {};
    if (isClassifierConfig(config)) {
      const { model, tokenizer, meta } = loadClassifier(dir, { device });
      try {
        const merged = adapter ? mergeAdapters(model).layers.length : 0;
        await saveClassifier(model, tokenizer, String(a.out), { meta });
        process.stderr.write(`export: ${dir} -> ${String(a.out)} (classifier, ${model.numParameters().toLocaleString('en-US')} parameters${adapter ? `, ${merged} LoRA layers merged` : ''}, Hugging Face GPT2ForSequenceClassification layout)\n`);
      } finally {
        model.dispose();
      }
      return 0;
    }
    const { model, tokenizer, chatTemplate } = loadGPT(dir, { device });
    try {
      const merged = adapter ? mergeAdapters(model).layers.length : 0;
      await saveGPT(model, tokenizer, String(a.out), { ...(chatTemplate ? { chatTemplate } : {}) });
      process.stderr.write(`export: ${dir} -> ${String(a.out)} (${model.numParams().toLocaleString('en-US')} parameters${adapter ? `, ${merged} LoRA layers merged` : ''}, Hugging Face GPT-2 layout)\n`);
    } finally {
      model.dispose();
    }
    return 0;
  },
};
