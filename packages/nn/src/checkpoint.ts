/**
 * Checkpoints as a directory PyTorch users recognise: `model.safetensors` (+ `config.json`), and
 * for resuming `optimizer.safetensors` and `state.json` (step, RNG, anything the trainer adds).
 *
 * Saving never damages the last good checkpoint: everything is written and flushed into a
 * sibling `<dir>.tmp-<pid>`, then the old directory is renamed to `<dir>.previous`, the new one
 * renamed into place, and the old one removed. If a crash lands between the two renames, loading
 * `<dir>` finds `<dir>.previous` and uses it.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { loadSafetensors, type Device, type Tensor } from '@llmts/tensor';
import { encodeSafetensors, processAlive, writeFileAtomic } from '@llmts/tensor/internal';
import type { Module } from './module.ts';
import type { Optimizer, OptimizerState } from './optim/optimizer.ts';

export interface CheckpointContents {
  model: Module;
  /** The model's configuration, written as config.json (needed to rebuild the model). */
  config?: Record<string, unknown>;
  /** The name of the weights file (default model.safetensors; adapter_model.safetensors for a LoRA adapter). */
  weightsFile?: string;
  optimizer?: Optimizer<{ lr: number }>;
  /** Trainer state for resuming (iteration, best loss, RNG state, data position…), as state.json. */
  state?: Record<string, unknown>;
  /** String metadata stored in model.safetensors' header. */
  metadata?: Record<string, string>;
  /** Further files written into the checkpoint directory (e.g. tokenizer.json). */
  files?: Record<string, string | Uint8Array>;
  /**
   * The tensors to write as model.safetensors, by name, instead of the model's state dict (a model
   * that saves in another library's layout, such as Hugging Face GPT-2's).
   */
  tensors?: Record<string, Tensor>;
}

/** Tensors once each: names that share another's memory are recorded as ties instead of stored twice. */
function dedupe(state: Record<string, Tensor>): { tensors: Record<string, Tensor>; ties: Record<string, string> } {
  const owner = new Map<Tensor, string>();
  const tensors: Record<string, Tensor> = {};
  const ties: Record<string, string> = {};
  for (const [name, t] of Object.entries(state)) {
    const first = owner.get(t);
    if (first !== undefined) ties[name] = first;
    else {
      owner.set(t, name);
      tensors[name] = t;
    }
  }
  return { tensors, ties };
}

/**
 * Remove what saves killed half-way left in `dir`: `<name>.tmp-<pid>` folders and
 * `.<name>.tmp-<pid>-<random>` files whose process is no longer running (`only` limits it to one
 * name). Returns the names removed.
 * @example removeStaleTemps('runs/shk') // after a trainer was killed mid-save
 */
export function removeStaleTemps(dir: string, only?: string): string[] {
  if (!existsSync(dir)) return [];
  const removed: string[] = [];
  for (const name of readdirSync(dir)) {
    const m = /^\.?(.*)\.tmp-(\d+)(-[a-z0-9]+)?$/.exec(name);
    if (m === null || (only !== undefined && m[1] !== only)) continue;
    const pid = Number(m[2]);
    if (pid === process.pid || processAlive(pid)) continue;
    rmSync(join(dir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

/**
 * Write a checkpoint directory atomically (see the file comment).
 * @example await saveCheckpoint('out/best', { model, config, optimizer, state: { iter, bestVal } });
 */
export async function saveCheckpoint(dir: string, c: CheckpointContents): Promise<void> {
  const target = resolve(dir);
  mkdirSync(dirname(target), { recursive: true });
  const tmp = `${target}.tmp-${process.pid}`;
  removeStaleTemps(dirname(target), basename(target));
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  try {
    const { tensors, ties } = c.tensors ? { tensors: c.tensors, ties: {} } : dedupe(c.model.stateDict());
    const metadata = { format: 'pt', ...(c.metadata ?? {}), ...(Object.keys(ties).length ? { 'llmts.ties': JSON.stringify(ties) } : {}) };
    const weightsFile = c.weightsFile ?? 'model.safetensors';
    writeFileAtomic(join(tmp, weightsFile), await encodeSafetensors(tensors, metadata));
    if (c.config !== undefined) writeFileAtomic(join(tmp, 'config.json'), `${JSON.stringify(c.config, null, 2)}\n`);
    const state: Record<string, unknown> = { ...(c.state ?? {}) };
    if (c.optimizer) {
      const o = c.optimizer.stateDict();
      writeFileAtomic(join(tmp, 'optimizer.safetensors'), await encodeSafetensors(o.tensors));
      state.optimizer = o.meta;
    }
    if (c.state !== undefined || c.optimizer !== undefined) writeFileAtomic(join(tmp, 'state.json'), `${JSON.stringify(state, null, 2)}\n`);
    for (const [name, content] of Object.entries(c.files ?? {})) {
      if (name.includes('/') || [weightsFile, 'config.json', 'optimizer.safetensors', 'state.json'].includes(name)) throw new Error(`saveCheckpoint: cannot add a file named '${name}'`);
      writeFileAtomic(join(tmp, name), content);
    }
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  const previous = `${target}.previous`;
  if (existsSync(target)) {
    rmSync(previous, { recursive: true, force: true });
    renameSync(target, previous);
  }
  renameSync(tmp, target);
  rmSync(previous, { recursive: true, force: true });
}

export interface LoadedCheckpoint {
  dir: string;
  config: Record<string, unknown>;
  modelState: Record<string, Tensor>;
  metadata: Record<string, string>;
  optimizerState: OptimizerState | null;
  state: Record<string, unknown>;
}

/** The files that make a directory a checkpoint: full weights, sharded weights, or a LoRA adapter. */
const WEIGHT_FILES = ['model.safetensors', 'model.safetensors.index.json', 'adapter_model.safetensors'];

/** The directory holding a complete checkpoint for `dir` (recovering `<dir>.previous` after a crash mid-save). */
export function resolveCheckpointDir(dir: string): string {
  const target = resolve(dir);
  const weights = (d: string) => WEIGHT_FILES.some((f) => existsSync(join(d, f)));
  if (weights(target)) return target;
  const previous = `${target}.previous`;
  if (!existsSync(target) && weights(previous)) return previous;
  if (!existsSync(target)) throw new Error(`checkpoint ${dir}: no such directory`);
  if (!statSync(target).isDirectory()) throw new Error(`checkpoint ${dir}: not a directory`);
  throw new Error(`checkpoint ${dir}: no model.safetensors (or adapter_model.safetensors) inside (is it a checkpoint directory?)`);
}

/**
 * A JSON object from a file; a missing file or bad JSON is an error naming the file.
 * @example const config = readJsonFile(join(dir, 'config.json'));
 */
export function readJsonFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new Error(`${path}: missing`);
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
  }
}

/**
 * Read a checkpoint directory (everything validated before any tensor is returned). The caller
 * owns the returned tensors (dispose them once loaded into a model); `optimizer: false` skips the
 * optimizer state, `weights: false` the model's tensors (for a caller that streams them itself).
 * @example const ck = loadCheckpoint('out/best', { device: 'gpu' }); model.loadStateDict(ck.modelState);
 */
export function loadCheckpoint(dir: string, options: { device?: Device; optimizer?: boolean; weights?: boolean } = {}): LoadedCheckpoint {
  const at = resolveCheckpointDir(dir);
  const config = readJsonFile(join(at, 'config.json'));
  const state = existsSync(join(at, 'state.json')) ? readJsonFile(join(at, 'state.json')) : {};
  const { tensors, metadata } = options.weights === false ? { tensors: {} as Record<string, Tensor>, metadata: {} } : loadSafetensors(join(at, 'model.safetensors'), { device: options.device, finite: true });
  const ties = metadata['llmts.ties'] ? (JSON.parse(metadata['llmts.ties']) as Record<string, string>) : {};
  for (const [alias, owner] of Object.entries(ties)) {
    if (!(owner in tensors)) throw new Error(`${join(at, 'model.safetensors')}: tied tensor '${alias}' points at missing '${owner}'`);
    tensors[alias] = tensors[owner]!;
  }
  let optimizerState: OptimizerState | null = null;
  if (options.optimizer !== false && existsSync(join(at, 'optimizer.safetensors')) && state.optimizer) {
    try {
      const o = loadSafetensors(join(at, 'optimizer.safetensors'), { device: options.device, finite: true });
      optimizerState = { tensors: o.tensors, meta: state.optimizer as OptimizerState['meta'] };
    } catch (e) {
      for (const t of Object.values(tensors)) t.dispose();
      throw e;
    }
  }
  return { dir: at, config, modelState: tensors, metadata, optimizerState, state };
}
