/**
 * @llmts/nn in a browser page (the package's `browser` export condition): modules, layers,
 * optimizers and schedules. Checkpoint directories are Node's (index.ts); a page saves and loads
 * bytes (safetensors in @llmts/tensor, GPT directories in @llmts/gpt).
 */
export { Module, Parameter } from './module.ts';
export { Linear, Embedding, LayerNorm, Dropout, ReLU, GELU, Tanh, Sigmoid, Softmax, Identity, Sequential, ModuleList } from './layers.ts';
export type { Layer, FactoryOptions } from './layers.ts';
export { QuantizedLinear, QuantizedEmbedding, quantizeModel } from './quantize.ts';
export type { LinearLayer, EmbeddingLayer, QuantizeReport } from './quantize.ts';
export { LoRALinear, applyLoRA, mergeLoRA, hasLoRA, loraStateDict } from './lora.ts';
export type { LoRAOptions, LoRAReport } from './lora.ts';
export { replaceModules } from './replace.ts';
export * as init from './init.ts';
export * as functional from './functional.ts';
export { Optimizer } from './optim/optimizer.ts';
export type { ParamGroup, ParamsArg, OptimizerState } from './optim/optimizer.ts';
export { SGD } from './optim/sgd.ts';
export type { SGDOptions } from './optim/sgd.ts';
export { AdamW, Adam } from './optim/adamw.ts';
export type { AdamOptions } from './optim/adamw.ts';
export { constantLr, warmupCosine, warmupConstant, LrScheduler } from './optim/schedule.ts';
export type { LrSchedule, WarmupCosineOptions } from './optim/schedule.ts';
export { clipGradNorm } from './optim/clip.ts';
export { accumulateGradients } from './optim/accumulate.ts';
