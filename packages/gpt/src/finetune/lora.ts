/**
 * LoRA for GPTs: which layers take adapters (`attn`, `mlp`, `head`), and adapter directories in
 * Hugging Face PEFT's format: adapter_config.json (peft_type LORA, r, lora_alpha, target_modules,
 * base_model_name_or_path) and adapter_model.safetensors with PEFT's tensor names
 * (`base_model.model.<layer>.lora_A.weight`), so `PeftModel.from_pretrained` reads ours and ours
 * reads PEFT's. The adapter holds only what trained; the base weights stay in the base checkpoint.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { SafetensorsReader, tidy, type Tensor } from '@llmts/tensor';
import { fromArray } from '@llmts/tensor/internal';
import { applyLoRA, loraStateDict, mergeLoRA, readJsonFile, type LoRAReport } from '@llmts/nn';
import type { HFLayoutModel } from '../hf/weights.ts';

/** Layer groups LoRA can adapt: attention projections, MLP projections, the LM head. */
export const LORA_TARGETS = ['attn', 'mlp', 'head'] as const;
export type LoRATarget = (typeof LORA_TARGETS)[number];

/** LoRA's settings as the CLI takes them. */
export interface LoRASettings {
  rank: number;
  /** The update is scaled by alpha / rank. */
  alpha: number;
  dropout: number;
  targets: LoRATarget[];
}

const GROUP: Record<LoRATarget, RegExp> = {
  attn: /(^|\.)attn\.(c_attn|c_proj)$/,
  mlp: /(^|\.)mlp\.(c_fc|c_proj)$/,
  head: /^lm_head$/,
};

/** `attn,mlp` -> ['attn', 'mlp'], checking every name. */
export function parseLoraTargets(spec: string): LoRATarget[] {
  const names = spec.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) throw new Error(`--lora-targets: give one or more of ${LORA_TARGETS.join(', ')}`);
  for (const n of names) if (!(LORA_TARGETS as readonly string[]).includes(n)) throw new Error(`--lora-targets: unknown target '${n}' (valid: ${LORA_TARGETS.join(', ')})`);
  return [...new Set(names)] as LoRATarget[];
}

/**
 * Freeze `model` and put adapters on the layers of `targets`; parameters `keepTrainable` names stay
 * trainable (a classifier's head).
 * @example addLoRA(model, { rank: 8, alpha: 16, dropout: 0, targets: ['attn', 'mlp'] })
 */
export function addLoRA(model: HFLayoutModel, s: LoRASettings, keepTrainable: readonly string[] = []): LoRAReport {
  const match = (name: string) => s.targets.some((t) => GROUP[t].test(name));
  if (s.targets.includes('head') && !('lm_head' in model)) throw new Error('LoRA: --lora-targets head adapts the LM head, which this model (a classifier) does not have; its score head trains in full');
  return applyLoRA(model, { rank: s.rank, alpha: s.alpha, dropout: s.dropout, target: match, keepTrainable: (n) => keepTrainable.includes(n) });
}

/** What an adapter directory says about itself. */
export interface AdapterConfig {
  /** The base checkpoint, resolved to a directory that exists. */
  base: string;
  rank: number;
  alpha: number;
  dropout: number;
  /** Module names or name suffixes the adapters sit on (PEFT's target_modules). */
  targetModules: string[];
  taskType: string;
  /** Parameters of modules trained in full and stored in the adapter (a classifier's score head). */
  modulesToSave: string[];
}

const ADAPTER_CONFIG = 'adapter_config.json';
const ADAPTER_WEIGHTS = 'adapter_model.safetensors';

/** Whether `dir` holds a LoRA adapter rather than full weights. */
export function isAdapterDir(dir: string): boolean {
  return existsSync(join(dir, ADAPTER_CONFIG));
}

/** adapter_config.json in PEFT's keys for the adapters on `model`. */
export function adapterConfigJSON(model: HFLayoutModel, s: LoRASettings, base: string, taskType: 'CAUSAL_LM' | 'SEQ_CLS', modulesToSave: readonly string[] = []): Record<string, unknown> {
  const layers = Object.keys(loraStateDict(model)).filter((n) => n.endsWith('.lora_A')).map((n) => n.slice(0, -'.lora_A'.length));
  return {
    peft_type: 'LORA',
    task_type: taskType,
    base_model_name_or_path: resolve(base),
    r: s.rank,
    lora_alpha: s.alpha,
    lora_dropout: s.dropout,
    target_modules: layers,
    // GPT-2's projections are Conv1D ([in, out]) in transformers; the head is a Linear
    fan_in_fan_out: !s.targets.every((t) => t === 'head'),
    bias: 'none',
    modules_to_save: modulesToSave.length > 0 ? [...new Set(modulesToSave.map((n) => n.replace(/\.(weight|bias)$/, '')))] : null,
    inference_mode: true,
    init_lora_weights: true,
    use_rslora: false,
  };
}

/** The adapter tensors of `model` (and the parameters of `modulesToSave`) under PEFT's names. */
export function adapterTensors(model: HFLayoutModel, modulesToSave: readonly string[] = []): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(loraStateDict(model))) out[`base_model.model.${name}.weight`] = t;
  const params = new Map(model.namedParameters());
  for (const name of modulesToSave) {
    const p = params.get(name);
    if (p === undefined) throw new Error(`adapterTensors: the model has no parameter '${name}'`);
    out[`base_model.model.${name}`] = p;
  }
  return out;
}

/**
 * Read and check adapter_config.json. The base path is taken as written (absolute, or relative to
 * the working directory as PEFT does), then relative to the adapter directory.
 */
export function readAdapterConfig(dir: string): AdapterConfig {
  const file = join(dir, ADAPTER_CONFIG);
  const raw = readJsonFile(file);
  const bad = (key: string, want: string) => new Error(`${file}: '${key}' must be ${want}, got ${JSON.stringify(raw[key])}`);
  if (raw.peft_type !== 'LORA') throw bad('peft_type', '"LORA" (only LoRA adapters are supported)');
  const rank = raw.r;
  if (typeof rank !== 'number' || !Number.isSafeInteger(rank) || rank < 1) throw bad('r', 'a positive integer');
  const alpha = raw.lora_alpha ?? 8;
  if (typeof alpha !== 'number' || !(alpha > 0)) throw bad('lora_alpha', 'a positive number');
  const dropout = raw.lora_dropout ?? 0;
  if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1)) throw bad('lora_dropout', 'a number in [0, 1)');
  const targets = typeof raw.target_modules === 'string' ? [raw.target_modules] : raw.target_modules;
  if (!Array.isArray(targets) || targets.length === 0 || targets.some((t) => typeof t !== 'string')) throw bad('target_modules', 'a list of module names');
  const save = raw.modules_to_save ?? [];
  if (!Array.isArray(save) || save.some((t) => typeof t !== 'string')) throw bad('modules_to_save', 'a list of module names or null');
  if (raw.use_rslora === true) throw bad('use_rslora', 'false (rank-stabilised scaling is not supported)');
  if (raw.bias !== undefined && raw.bias !== 'none') throw bad('bias', '"none" (trained biases are not supported)');
  const written = raw.base_model_name_or_path;
  if (typeof written !== 'string' || written === '') throw bad('base_model_name_or_path', 'the path of the base checkpoint');
  const candidates = isAbsolute(written) ? [written] : [resolve(written), resolve(dir, written)];
  const base = candidates.find((c) => existsSync(c));
  if (base === undefined) throw new Error(`${file}: the base model '${written}' is not found (the adapter needs the checkpoint it was trained on; put it there or edit base_model_name_or_path)`);
  return { base, rank, alpha, dropout, targetModules: targets as string[], taskType: typeof raw.task_type === 'string' ? raw.task_type : 'CAUSAL_LM', modulesToSave: save as string[] };
}

/** PEFT's matching: a layer is targeted when its name is a target or ends with "." + target. */
function targeted(name: string, targets: readonly string[]): boolean {
  return targets.some((t) => name === t || name.endsWith(`.${t}`));
}

/** Our parameter name for a PEFT adapter tensor name (saved or in-memory form). */
function adapterParamName(name: string): string {
  let n = name.replace(/^base_model\.model\./, '');
  n = n.replace(/\.lora_([AB])(\.default)?\.weight$/, '.lora_$1');
  n = n.replace(/\.modules_to_save(\.default)?\./, '.');
  return n;
}

/**
 * Put the adapters of `dir` onto `model` (its base weights already loaded): LoRA layers where
 * adapter_config.json's target_modules say, then the adapter weights. Every tensor's name and shape
 * is checked before any is copied.
 */
export function loadAdapter(model: HFLayoutModel, dir: string, config: AdapterConfig = readAdapterConfig(dir)): LoRAReport {
  const saved = config.modulesToSave;
  const report = applyLoRA(model, {
    rank: config.rank, alpha: config.alpha, dropout: config.dropout,
    target: (name) => targeted(name, config.targetModules),
    keepTrainable: (name) => saved.some((m) => name === m || name.startsWith(`${m}.`)),
  });
  const file = join(dir, ADAPTER_WEIGHTS);
  if (!existsSync(file)) throw new Error(`${dir}: adapter_config.json but no ${ADAPTER_WEIGHTS}`);
  const reader = SafetensorsReader.open(file);
  try {
    const params = new Map(model.namedParameters());
    const expected = new Set([...Object.keys(loraStateDict(model)), ...[...params.keys()].filter((n) => saved.some((m) => n === m || n.startsWith(`${m}.`)))]);
    const plan: [string, string][] = [];
    for (const name of reader.names()) {
      const ours = adapterParamName(name);
      const p = params.get(ours);
      if (p === undefined || !expected.has(ours)) throw new Error(`${file}: tensor '${name}' does not belong to an adapted layer of this model (target_modules ${JSON.stringify(config.targetModules)})`);
      const e = reader.header.entries.get(name)!;
      if (e.shape.length !== p.ndim || e.shape.some((d, i) => d !== p.shape[i])) throw new Error(`${file}: tensor '${name}' has shape [${e.shape}] but the model needs [${p.shape}] (r ${config.rank})`);
      plan.push([name, ours]);
      expected.delete(ours);
    }
    if (expected.size > 0) throw new Error(`${file}: missing tensors for ${[...expected].slice(0, 6).join(', ')}`);
    for (const [name, ours] of plan) {
      const host = reader.read(name, { finite: true });
      const p = params.get(ours)!;
      tidy(() => p.setData(fromArray(host.data, p.shape, { dtype: p.dtype, device: p.device })));
    }
  } finally {
    reader.close();
  }
  return report;
}

/**
 * Fold the adapters into the base weights (for export or fast inference). An adapted LM head that
 * was tied to the token embedding gets its own weight, and the config says it is untied.
 */
export function mergeAdapters(model: HFLayoutModel): { layers: string[] } {
  const { layers, untied } = mergeLoRA(model);
  if (untied.includes('lm_head')) model.config.tiedEmbeddings = false;
  return { layers };
}
