/**
 * Weight-only quantization of a trained model for inference: every Linear and Embedding (or those
 * a filter keeps) is replaced by a module holding int8 (per-output-channel) or int4 (groups of 32)
 * weights; biases and everything else stay float32. Tied weights are quantized once and shared.
 */
import { quantizeWeight, quantizedEmbedding, quantizedMatmul, type Device, type QuantBits, type QuantizedWeight, type Tensor } from '@llmts/tensor';
import { Module, type Parameter } from './module.ts';
import { Embedding, Linear } from './layers.ts';
import { replaceModules } from './replace.ts';
import type { LoRALinear } from './lora.ts';

/** A Linear layer whose weight is quantized (inference only). */
export class QuantizedLinear extends Module {
  constructor(readonly weight: QuantizedWeight, readonly bias: Parameter | null) {
    super();
    // the packed values travel with the module (to(device)) but are not part of its state dict
    this.registerBuffer('packed', weight.packed, { persistent: false });
    this.registerBuffer('scales', weight.scales, { persistent: false });
  }

  /** x (..., inFeatures) -> (..., outFeatures), dequantizing on the fly. */
  forward(x: Tensor): Tensor {
    return quantizedMatmul(x, this.weight, this.bias);
  }

  protected override extraRepr(): string {
    return `inFeatures=${this.weight.cols}, outFeatures=${this.weight.rows}, int${this.weight.bits}`;
  }
}

/** An Embedding whose table is quantized (inference only). */
export class QuantizedEmbedding extends Module {
  constructor(readonly weight: QuantizedWeight) {
    super();
    this.registerBuffer('packed', weight.packed, { persistent: false });
    this.registerBuffer('scales', weight.scales, { persistent: false });
  }

  /** ids (int32, any shape) -> (..., embeddingDim). */
  forward(ids: Tensor): Tensor {
    return quantizedEmbedding(ids, this.weight);
  }

  protected override extraRepr(): string {
    return `${this.weight.rows}, ${this.weight.cols}, int${this.weight.bits}`;
  }
}

/** A Linear, its quantized form, or a Linear with a LoRA adapter. */
export type LinearLayer = Linear | QuantizedLinear | LoRALinear;
/** An Embedding or its quantized form. */
export type EmbeddingLayer = Embedding | QuantizedEmbedding;

/** What `quantizeModel` did. */
export interface QuantizeReport {
  /** Layers replaced. */
  layers: number;
  /** Bytes of the float weights that were replaced, and of their quantized forms. */
  floatBytes: number;
  quantizedBytes: number;
}

/**
 * Replace the model's Linear and Embedding layers (those `keep` accepts, by dotted name) with
 * quantized ones, in place; the float weights are freed. The model's weights must be on the CPU;
 * the quantized ones are placed on `device` (default: the CPU); move the rest with `model.to`.
 * @example quantizeModel(model, 8, { keep: (name) => name !== 'transformer.wpe' })
 */
export function quantizeModel(model: Module, bits: QuantBits, options: { keep?: (name: string) => boolean; device?: Device } = {}): QuantizeReport {
  const keep = options.keep ?? (() => true);
  const shared = new Map<Tensor, QuantizedWeight>();
  const replaced = new Set<Tensor>();
  const report: QuantizeReport = { layers: 0, floatBytes: 0, quantizedBytes: 0 };
  const quantized = (w: Parameter): QuantizedWeight => {
    let q = shared.get(w);
    if (q === undefined) {
      q = quantizeWeight(w, bits, options.device ?? 'cpu');
      shared.set(w, q);
      report.floatBytes += w.numel() * 4;
      report.quantizedBytes += q.bytes;
    }
    return q;
  };
  replaceModules(model, (name, m) => {
    if (!keep(name)) return null;
    let r: Module;
    if (m instanceof Linear) r = new QuantizedLinear(quantized(m.weight), m.bias === null ? null : m.bias);
    else if (m instanceof Embedding) r = new QuantizedEmbedding(quantized(m.weight));
    else return null;
    replaced.add(m.weight);
    report.layers++;
    return r;
  });
  for (const w of replaced) w.dispose();
  return report;
}
