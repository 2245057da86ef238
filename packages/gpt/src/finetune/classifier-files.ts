/**
 * Classifier checkpoints in Hugging Face's GPT2ForSequenceClassification layout: config.json with
 * id2label / label2id / pad_token_id, model.safetensors with the GPT body in GPT-2's names and
 * `score.weight`, and the tokenizer files; or, for a LoRA fine-tune, a PEFT adapter directory
 * (task_type SEQ_CLS, the score head under modules_to_save) beside the same config.json.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { getDefaultDevice, type Device } from '@llmts/tensor';
import { readJsonFile, resolveCheckpointDir, saveCheckpoint, type Optimizer } from '@llmts/nn';
import type { Tokenizer } from '@llmts/data';
import { checkpointTokenizer, loadGPT, resolveModelDir } from '../checkpoint.ts';
import { fromHFConfig, toHFConfig, type LlmtsConfigExtras } from '../hf/config.ts';
import { hfTensors } from '../hf/weights.ts';
import { loadHFWeights } from '../hf/load-weights.ts';
import { huggingFaceFiles } from '../hf/files.ts';
import { GPTClassifier } from './classifier.ts';
import { adapterConfigJSON, adapterTensors, isAdapterDir, loadAdapter, readAdapterConfig, type LoRASettings } from './lora.ts';

/** What a classifier checkpoint records besides its weights. */
export interface ClassifierMeta {
  /** Token id padding the right of short texts. */
  padTokenId: number;
  /** Texts are cut to this many tokens (the longest training example, at most the context). */
  maxLength: number;
}

/** config.json of a classifier. */
export function classifierConfigJSON(clf: GPTClassifier, meta: ClassifierMeta, eos: number | undefined, extras: LlmtsConfigExtras = {}): Record<string, unknown> {
  const base = toHFConfig(clf.config, { task: 'classification', maxLength: meta.maxLength, ...extras }, eos !== undefined ? { eos } : {});
  const gpt2 = clf.config.normPlacement === 'pre';
  return {
    ...base,
    architectures: [gpt2 ? 'GPT2ForSequenceClassification' : 'LlmtsPostNormGPTForSequenceClassification'],
    id2label: Object.fromEntries(clf.labels.map((l, i) => [String(i), l])),
    label2id: Object.fromEntries(clf.labels.map((l, i) => [l, i])),
    problem_type: 'single_label_classification',
    pad_token_id: meta.padTokenId,
  };
}

/** Whether a config.json describes a sequence classifier. */
export function isClassifierConfig(raw: Record<string, unknown>): boolean {
  return raw.id2label !== undefined && Array.isArray(raw.architectures) && raw.architectures.some((a) => typeof a === 'string' && a.endsWith('ForSequenceClassification'));
}

/** The labels of a classifier config.json, in id order. */
function labelsOf(raw: Record<string, unknown>, file: string): string[] {
  const map = raw.id2label as Record<string, unknown> | undefined;
  if (map === null || typeof map !== 'object') throw new Error(`${file}: 'id2label' must be an object of id to label`);
  const n = Object.keys(map).length;
  const labels: string[] = [];
  for (let i = 0; i < n; i++) {
    const l = map[String(i)];
    if (typeof l !== 'string') throw new Error(`${file}: 'id2label' must name ids 0..${n - 1}, id ${i} is ${JSON.stringify(l)}`);
    labels.push(l);
  }
  return labels;
}

/** What to save with a classifier. */
export interface SaveClassifierOptions {
  meta: ClassifierMeta;
  extras?: LlmtsConfigExtras;
  optimizer?: Optimizer<{ lr: number }>;
  state?: Record<string, unknown>;
  /** Save only the LoRA adapters and the score head, against this base checkpoint. */
  lora?: { settings: LoRASettings; base: string };
}

/**
 * Save a classifier (atomically) as a Hugging Face directory, or as a PEFT adapter directory when
 * it was trained with LoRA.
 * @example await saveClassifier(clf, tokenizer, 'runs/spam/best', { meta: { padTokenId: 50256, maxLength: 120 } });
 */
export async function saveClassifier(clf: GPTClassifier, tokenizer: Tokenizer, dir: string, o: SaveClassifierOptions): Promise<void> {
  const eos = tokenizer.specialId('<|endoftext|>');
  const config = classifierConfigJSON(clf, o.meta, eos, o.extras);
  const files = huggingFaceFiles(tokenizer, clf.config.blockSize);
  if (o.lora) {
    await saveCheckpoint(dir, {
      model: clf, config, optimizer: o.optimizer, state: o.state, weightsFile: 'adapter_model.safetensors',
      tensors: adapterTensors(clf, ['score.weight']), metadata: { format: 'pt' },
      files: { ...files, 'adapter_config.json': `${JSON.stringify(adapterConfigJSON(clf, o.lora.settings, o.lora.base, 'SEQ_CLS', ['score.weight']), null, 2)}\n` },
    });
    return;
  }
  const weights = hfTensors(clf);
  try {
    await saveCheckpoint(dir, { model: clf, config, optimizer: o.optimizer, state: o.state, tensors: weights.tensors, metadata: { format: 'pt' }, files });
  } finally {
    weights.dispose();
  }
}

/** A loaded classifier. */
export interface LoadedClassifier {
  model: GPTClassifier;
  tokenizer: Tokenizer;
  labels: readonly string[];
  meta: ClassifierMeta;
  dir: string;
}

/**
 * Load a classifier saved by `llmts finetune classify` (full weights or a LoRA adapter on its base),
 * or a Hugging Face GPT2ForSequenceClassification directory, in eval mode.
 * @example const { model, tokenizer } = loadClassifier('runs/spam'); await model.predict(tokenizer, ['Win cash now!'])
 */
export function loadClassifier(path: string, options: { device?: Device } = {}): LoadedClassifier {
  const dir = resolveCheckpointDir(resolveModelDir(path));
  const device = options.device ?? getDefaultDevice();
  const file = join(dir, 'config.json');
  if (!existsSync(file)) throw new Error(`checkpoint ${dir}: no config.json (a classifier directory has one naming its labels)`);
  const raw = readJsonFile(file);
  if (!isClassifierConfig(raw)) throw new Error(`${file}: not a classifier (no id2label / *ForSequenceClassification architecture); make one with llmts finetune classify`);
  const labels = labelsOf(raw, file);
  const config = fromHFConfig(raw, file);
  const extras = (raw.llmts ?? {}) as { maxLength?: unknown };
  const pad = typeof raw.pad_token_id === 'number' ? raw.pad_token_id : 0;
  const meta: ClassifierMeta = { padTokenId: pad, maxLength: typeof extras.maxLength === 'number' ? extras.maxLength : config.blockSize };
  let model: GPTClassifier;
  if (isAdapterDir(dir)) {
    const ac = readAdapterConfig(dir);
    if (ac.taskType !== 'SEQ_CLS') throw new Error(`${join(dir, 'adapter_config.json')}: task_type ${ac.taskType} is not a classifier adapter`);
    const base = loadGPT(ac.base, { device, dropout: config.dropout });
    model = GPTClassifier.fromGPT(base.model, labels);
    try {
      loadAdapter(model, dir, ac);
    } catch (e) {
      model.dispose();
      throw e;
    }
  } else {
    model = GPTClassifier.create(config, labels, { device, init: false });
    try {
      loadHFWeights(model, dir);
    } catch (e) {
      model.dispose();
      throw e;
    }
  }
  model.eval();
  const tokenizer = checkpointTokenizer(dir, config.vocabSize, raw);
  return { model, tokenizer, labels, meta, dir };
}
