/**
 * Loading a checkpoint directory's GPT-2 weights: model.safetensors, or the shards that
 * model.safetensors.index.json lists (Node's files; a page reads bytes with loadWeightsFrom).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SafetensorsReader } from '@llmts/tensor';
import { readJsonFile } from '@llmts/nn';
import { loadWeightsFrom, type HFLayoutModel } from './weights.ts';

/** The safetensors files of a checkpoint directory: the shards of an index, or model.safetensors. */
function weightFiles(dir: string): Map<string, string> {
  const index = join(dir, 'model.safetensors.index.json');
  if (!existsSync(index)) return new Map();
  const map = readJsonFile(index).weight_map as Record<string, unknown> | undefined;
  if (map === null || typeof map !== 'object') throw new Error(`${index}: 'weight_map' must be an object of tensor name to file`);
  const out = new Map<string, string>();
  for (const [name, file] of Object.entries(map)) {
    if (typeof file !== 'string' || file.includes('/') || file.includes('\\')) throw new Error(`${index}: tensor '${name}' maps to ${JSON.stringify(file)}, not a file name`);
    out.set(name, join(dirname(index), file));
  }
  return out;
}

/**
 * Load a Hugging Face GPT-2 directory's weights (this project's checkpoints too) into `model`,
 * tensor by tensor; see loadWeightsFrom for what is checked.
 * @example loadHFWeights(model, 'gpt2-dir')
 */
export function loadHFWeights(model: HFLayoutModel, dir: string, options: { cropPositions?: boolean } = {}): void {
  const shards = weightFiles(dir);
  const files = shards.size > 0 ? [...new Set(shards.values())] : [join(dir, 'model.safetensors')];
  const readers = new Map<string, SafetensorsReader>();
  try {
    for (const f of files) readers.set(f, SafetensorsReader.open(f));
    loadWeightsFrom(model, readers, shards, options);
  } finally {
    for (const r of readers.values()) r.close();
  }
}
