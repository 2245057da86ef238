/**
 * LoRA (Hu et al., 2021), as Hugging Face PEFT does it: a Linear layer's weight W stays frozen and
 * a low-rank update B·A (A [rank, in], B [out, rank]) scaled by alpha/rank is learned beside it,
 * y = x·Wᵀ + b + (alpha/rank)·dropout(x)·Aᵀ·Bᵀ. A starts like a Linear weight and B at zero, so an
 * adapted model starts out computing exactly what its base computes. Merging folds the update
 * into W for inference at no extra cost.
 */
import { dropout, empty, noGrad, tidy, zeros, type Tensor } from '@llmts/tensor';
import { Module, Parameter } from './module.ts';
import { Linear } from './layers.ts';
import { kaimingUniform_ } from './init.ts';
import { replaceModules } from './replace.ts';

/** LoRA's hyper-parameters (PEFT's r, lora_alpha, lora_dropout). */
export interface LoRAOptions {
  rank: number;
  /** The update is scaled by alpha / rank (default: alpha = rank, a scale of 1). */
  alpha?: number;
  /** Dropout on the adapter's input while training (default 0). */
  dropout?: number;
}

function checkOptions(o: LoRAOptions): Required<LoRAOptions> {
  if (!Number.isSafeInteger(o.rank) || o.rank < 1) throw new Error(`LoRA: rank must be a positive integer, got ${o.rank}`);
  const alpha = o.alpha ?? o.rank;
  if (!(Number.isFinite(alpha) && alpha > 0)) throw new Error(`LoRA: alpha must be a positive number, got ${alpha}`);
  const p = o.dropout ?? 0;
  if (!(p >= 0 && p < 1)) throw new Error(`LoRA: dropout must be in [0, 1), got ${p}`);
  return { rank: o.rank, alpha, dropout: p };
}

/** Take over a freshly made tensor as a Parameter. */
function own(t: Tensor): Parameter {
  const p = new Parameter(t);
  t.dispose();
  return p;
}

/**
 * A Linear layer with a LoRA adapter. `weight` and `bias` are the base layer's own tensors (shared,
 * frozen); only `lora_A` and `lora_B` train.
 * @example const layer = new LoRALinear(new Linear(64, 64), { rank: 8, alpha: 16 });
 */
export class LoRALinear extends Module {
  weight: Parameter;
  bias: Parameter | null;
  lora_A: Parameter;
  lora_B: Parameter;
  readonly rank: number;
  readonly alpha: number;
  readonly loraDropout: number;

  constructor(base: Linear, options: LoRAOptions) {
    super();
    const o = checkOptions(options);
    this.rank = o.rank;
    this.alpha = o.alpha;
    this.loraDropout = o.dropout;
    this.weight = base.weight;
    this.bias = base.bias;
    this.weight.requiresGrad = false;
    if (this.bias) this.bias.requiresGrad = false;
    const [out, inp] = this.weight.shape as [number, number];
    const where = { device: this.weight.device, dtype: this.weight.dtype };
    this.lora_A = kaimingUniform_(own(empty([o.rank, inp], where))) as Parameter;
    this.lora_B = own(zeros([out, o.rank], where));
  }

  /** alpha / rank. */
  get scaling(): number {
    return this.alpha / this.rank;
  }

  /** Input width (the base layer's). */
  get inFeatures(): number {
    return this.weight.shape[1]!;
  }

  /** Output width (the base layer's). */
  get outFeatures(): number {
    return this.weight.shape[0]!;
  }

  /** x (..., in) -> (..., out): the frozen layer plus the scaled low-rank update. */
  forward(x: Tensor): Tensor {
    const base = x.matmul(this.weight.transpose(0, 1));
    const y = this.bias ? base.add(this.bias) : base;
    const h = dropout(x, this.loraDropout, this.training).matmul(this.lora_A.transpose(0, 1)); // (..., rank)
    return y.add(h.matmul(this.lora_B.transpose(0, 1)).mul(this.scaling));
  }

  /** W + (alpha/rank)·B·A, a new tensor [out, in]. */
  mergedWeight(): Tensor {
    return tidy(() => noGrad(() => this.weight.add(this.lora_B.matmul(this.lora_A).mul(this.scaling))));
  }

  protected override extraRepr(): string {
    return `inFeatures=${this.inFeatures}, outFeatures=${this.outFeatures}, bias=${this.bias !== null}, rank=${this.rank}, alpha=${this.alpha}`;
  }
}

/** What `applyLoRA` did. */
export interface LoRAReport {
  /** Dotted names of the adapted layers. */
  layers: string[];
  /** Parameter elements that train (the adapters, plus any left trainable by `keepTrainable`). */
  trainable: number;
  /** All parameter elements, the frozen base included. */
  total: number;
}

/**
 * Freeze every parameter of `model` and put a LoRA adapter on each Linear layer `target` accepts
 * (by dotted name), in place. Parameters `keepTrainable` accepts (by dotted name) stay trainable,
 * as PEFT's modules_to_save (a classifier's new head). An adapter on a Linear whose weight is
 * shared (a tied LM head) leaves the sharing intact.
 * @example applyLoRA(gpt, { rank: 8, alpha: 16, target: (n) => n.endsWith('attn.c_attn') })
 */
export function applyLoRA(model: Module, options: LoRAOptions & { target: (name: string) => boolean; keepTrainable?: (name: string) => boolean }): LoRAReport {
  checkOptions(options);
  if (hasLoRA(model)) throw new Error('applyLoRA: the model already has LoRA adapters');
  const layers = replaceModules(model, (name, m) => (m instanceof Linear && options.target(name) ? new LoRALinear(m, options) : null));
  if (layers.length === 0) throw new Error('applyLoRA: no Linear layer matched the targets');
  for (const [name, p] of model.namedParameters()) {
    p.requiresGrad = /(^|\.)lora_[AB]$/.test(name) || options.keepTrainable?.(name) === true;
  }
  return { layers, trainable: model.numParameters({ trainableOnly: true }), total: model.numParameters() };
}

/** Whether any layer of `model` carries a LoRA adapter. */
export function hasLoRA(model: Module): boolean {
  for (const m of model.modules()) if (m instanceof LoRALinear) return true;
  return false;
}

/**
 * The adapter tensors of `model` by dotted name (`<layer>.lora_A`, `<layer>.lora_B`): the live
 * parameters, as in `stateDict`.
 */
export function loraStateDict(model: Module): Record<string, Parameter> {
  const out: Record<string, Parameter> = {};
  for (const [prefix, m] of model.namedModules()) {
    if (!(m instanceof LoRALinear)) continue;
    out[`${prefix}.lora_A`] = m.lora_A;
    out[`${prefix}.lora_B`] = m.lora_B;
  }
  return out;
}

/**
 * Fold every adapter into its layer's weight, in place: each LoRALinear becomes a Linear holding
 * W + (alpha/rank)·B·A, and the adapters are freed. A weight shared with another layer (a tied LM
 * head) is not changed: the merged layer gets its own copy, and its name is returned in `untied`.
 * @example const { layers } = mergeLoRA(model);
 */
export function mergeLoRA(model: Module): { layers: string[]; untied: string[] } {
  // how many places use each parameter, to tell a shared weight from a layer's own
  const uses = new Map<Tensor, number>();
  for (const [, p] of model.namedParameters({ removeDuplicate: false })) uses.set(p, (uses.get(p) ?? 0) + 1);
  const untied: string[] = [];
  const freed: Tensor[] = [];
  const layers = replaceModules(model, (name, m) => {
    if (!(m instanceof LoRALinear)) return null;
    const linear = new Linear(m.inFeatures, m.outFeatures, { bias: false, init: false, device: m.weight.device, dtype: m.weight.dtype });
    const merged = m.mergedWeight();
    if ((uses.get(m.weight) ?? 0) > 1) {
      linear.weight.dispose();
      linear.weight = own(merged);
      linear.weight.requiresGrad = m.weight.requiresGrad;
      untied.push(name);
    } else {
      linear.weight.dispose();
      noGrad(() => m.weight.setData(merged));
      merged.dispose(); // the weight holds the values now
      linear.weight = m.weight;
    }
    linear.bias = m.bias;
    freed.push(m.lora_A, m.lora_B);
    return linear;
  });
  for (const t of freed) {
    t.grad?.dispose();
    t.grad = null;
    t.dispose();
  }
  return { layers, untied };
}
