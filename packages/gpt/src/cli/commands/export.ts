import type { Device } from '@llmts/tensor';
import { commonFlags, type CommandSpec } from '../args.ts';
import { loadGPT } from '../../checkpoint.ts';
import { saveHuggingFace } from '../../hf/export.ts';

export const exportCommand: CommandSpec = {
  name: 'export',
  summary: 'write a checkpoint as a Hugging Face GPT-2 directory (transformers loads it)',
  usage: 'llmts export --checkpoint DIR --out DIR',
  flags: [
    commonFlags.checkpoint,
    { name: 'out', type: 'string', help: 'the directory to write (config.json, model.safetensors, tokenizer.json, …)', required: true },
    { ...commonFlags.device, default: 'cpu' },
  ],
  async run(a) {
    const { model, tokenizer, dir } = loadGPT(String(a.checkpoint), { device: a.device as Device });
    try {
      await saveHuggingFace(model, tokenizer, String(a.out));
    } finally {
      model.dispose();
    }
    process.stderr.write(`export: ${dir} -> ${String(a.out)} (${model.numParams().toLocaleString()} parameters, Hugging Face GPT-2 layout)\n`);
    return 0;
  },
};
