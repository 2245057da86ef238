/**
 * The LoRA flags `train` and both fine-tunings take, and the settings they make.
 */
import type { FlagSpec, ParsedArgs } from './args.ts';
import { LORA_TARGETS, parseLoraTargets, type LoRASettings } from '../finetune/lora.ts';

export const loraFlags: FlagSpec[] = [
  { name: 'lora-rank', type: 'int', min: 1, help: 'train LoRA adapters of this rank instead of the weights: only the adapters train, and they save apart from the base (adapter_model.safetensors)' },
  { name: 'lora-alpha', type: 'number', min: 0, help: 'LoRA scale: the update is multiplied by alpha/rank (default: the rank, a scale of 1)' },
  { name: 'lora-targets', type: 'string', help: `layers that get adapters, comma-separated: ${LORA_TARGETS.join(', ')} (default attn,mlp)` },
  { name: 'lora-dropout', type: 'number', min: 0, below: 1, help: 'dropout on the adapters\' input while training (default 0)' },
];

/** The LoRA settings of parsed flags, or undefined without --lora-rank (other LoRA flags alone are an error). */
export function loraFromFlags(a: ParsedArgs, command: string): LoRASettings | undefined {
  if (a['lora-rank'] === undefined) {
    const stray = ['lora-alpha', 'lora-targets', 'lora-dropout'].filter((f) => a[f] !== undefined);
    if (stray.length > 0) throw new Error(`${command}: --${stray[0]} needs --lora-rank (LoRA is off without a rank)`);
    return undefined;
  }
  const rank = Number(a['lora-rank']);
  const alpha = a['lora-alpha'] !== undefined ? Number(a['lora-alpha']) : rank;
  if (!(alpha > 0)) throw new Error(`${command}: --lora-alpha must be > 0, got ${alpha}`);
  return { rank, alpha, dropout: a['lora-dropout'] !== undefined ? Number(a['lora-dropout']) : 0, targets: parseLoraTargets(a['lora-targets'] !== undefined ? String(a['lora-targets']) : 'attn,mlp') };
}
