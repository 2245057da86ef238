/**
 * Pieces the fine-tuning loops share: choosing what trains, AdamW over it, the device, curves as
 * SVG and PNG, and the one-line summary of trainable parameters.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getDefaultDevice, hasBackend, type Device } from '@llmts/tensor';
import { initWebGPU } from '@llmts/tensor/internal';
import { AdamW, type Module } from '@llmts/nn';
import { plotSvg, type Series } from '../train/plot.ts';
import { plotPng } from '../train/plot-png.ts';
import type { HFLayoutModel } from '../hf/weights.ts';

/** The device to fine-tune on, opened when it is the GPU. */
export async function openDevice(device?: Device): Promise<Device> {
  const d = device ?? getDefaultDevice();
  if (d === 'gpu' && !hasBackend('gpu')) await initWebGPU();
  return d;
}

/** AdamW over the trainable parameters: weight decay on matrices, none on biases and norms. */
export function adamwFor(model: Module, o: { learningRate: number; weightDecay: number }): AdamW {
  const params = model.parameters().filter((p) => p.requiresGrad);
  if (params.length === 0) throw new Error('fine-tune: no parameter is left to train');
  return new AdamW([
    { params: params.filter((p) => p.ndim >= 2), weightDecay: o.weightDecay },
    { params: params.filter((p) => p.ndim < 2), weightDecay: 0 },
  ], { lr: o.learningRate, betas: [0.9, 0.999], eps: 1e-8 });
}

/**
 * Freeze a GPT body except its last `blocks` transformer blocks (all of them and the embeddings
 * with 'all') and, unless `finalNorm` is false, the final LayerNorm. Heads are left as they are.
 */
export function freezeBody(model: HFLayoutModel & { transformer: { h: { length: number } } }, blocks: number | 'all', finalNorm: boolean): void {
  const n = model.transformer.h.length;
  if (blocks !== 'all' && (!Number.isInteger(blocks) || blocks < 0 || blocks > n)) throw new Error(`fine-tune: trainable blocks must be 0..${n} or 'all', got ${blocks}`);
  for (const [name, p] of model.namedParameters()) {
    if (!name.startsWith('transformer.')) continue;
    if (blocks === 'all') { p.requiresGrad = true; continue; }
    const m = /^transformer\.h\.(\d+)\./.exec(name);
    p.requiresGrad = (m !== null && Number(m[1]) >= n - blocks) || (finalNorm && name.startsWith('transformer.ln_f.'));
  }
}

/** "1,234 of 10,746,624 parameters train (0.011%)". */
export function trainableSummary(model: Module): { trainable: number; total: number; text: string } {
  const trainable = model.numParameters({ trainableOnly: true });
  const total = model.numParameters();
  const pct = (100 * trainable) / total;
  return { trainable, total, text: `${trainable.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} parameters train (${pct < 0.1 ? pct.toPrecision(2) : pct.toFixed(2)}%)` };
}

/** Write `<name>.svg` and `<name>.png` of some curves into `dir`. */
export function writeCurves(dir: string, name: string, series: Series[], o: { title: string; xLabel: string; yLabel: string }): void {
  writeFileSync(join(dir, `${name}.svg`), plotSvg(series, o));
  writeFileSync(join(dir, `${name}.png`), plotPng(series));
}

/** The token that pads batches and ends examples: `<|endoftext|>` when the tokenizer has it. */
export function endOfText(tokenizer: { specialId(token: string): number | undefined }): number | undefined {
  return tokenizer.specialId('<|endoftext|>');
}
