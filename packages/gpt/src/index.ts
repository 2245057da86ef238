/**
 * @llmts/gpt — the GPT model, training, generation and the llmts CLI.
 * This file is the package's only door; the `llmts` command is bin/llmts.js.
 */
export { GPT, Transformer, Block, CausalSelfAttention, MLP, KVCache } from './model.ts';
export type { ForwardOutput } from './model.ts';
export { BigramLanguageModel } from './bigram.ts';
export { defaultConfig, makeConfig } from './config.ts';
export type { GPTConfig } from './config.ts';
export { presets, getPreset } from './presets.ts';
export type { Preset, TrainConfig } from './presets.ts';
export { generate } from './generate.ts';
export type { GenerateOptions } from './generate.ts';
export { nextTokenProbs, sampleRows, argmaxOf } from './sampling.ts';
export type { SamplingOptions } from './sampling.ts';
export { train, estimateLoss, writePlots } from './train/trainer.ts';
export { estimateTrainingMemory, largestBatchSize } from './train/memory.ts';
export type { MemoryEstimate } from './train/memory.ts';
export type { TrainOptions, TrainResult, LogEntry } from './train/trainer.ts';
export { plotSvg, plotPng } from './train/plot.ts';
export type { Series } from './train/plot.ts';
export { loadGPT, resolveModelDir } from './checkpoint.ts';
export type { LoadedGPT, LoadGPTOptions } from './checkpoint.ts';
export { saveHuggingFace, saveGPT } from './hf/export.ts';
export type { SaveGPTOptions, ChatTemplate } from './hf/export.ts';
export { serve } from './serve/server.ts';
export type { ServeOptions, RunningServer } from './serve/server.ts';
export { toHFConfig, fromHFConfig } from './hf/config.ts';
export type { LlmtsConfigExtras } from './hf/config.ts';
export { hfTensors, loadHFWeights } from './hf/weights.ts';
export type { HFLayoutModel } from './hf/weights.ts';
export { GPTClassifier, padRight } from './finetune/classifier.ts';
export { loadClassifier, saveClassifier, isClassifierConfig } from './finetune/classifier-files.ts';
export type { LoadedClassifier, ClassifierMeta, SaveClassifierOptions } from './finetune/classifier-files.ts';
export { finetuneClassifier } from './finetune/classify.ts';
export type { ClassifyOptions, ClassifyResult, ClassifyLogEntry, SplitScore } from './finetune/classify.ts';
export { finetuneInstructions, respond, responseText } from './finetune/instruct.ts';
export type { InstructOptions, InstructResult, InstructLogEntry, TestResponse } from './finetune/instruct.ts';
export { LORA_TARGETS, parseLoraTargets, addLoRA, loadAdapter, mergeAdapters, readAdapterConfig, isAdapterDir, adapterTensors, adapterConfigJSON } from './finetune/lora.ts';
export type { LoRASettings, LoRATarget, AdapterConfig } from './finetune/lora.ts';
export { gptScorer } from './eval/loglik.ts';
export type { LoglikRequest, LoglikScorer } from './eval/loglik.ts';
export { evaluateMultipleChoice, readMultipleChoice, mcPrompt } from './eval/multiple-choice.ts';
export type { MCQuestion, MCOptions, MCResult, MCScore, MCPrediction } from './eval/multiple-choice.ts';
export { perplexity } from './eval/perplexity.ts';
export type { PerplexityResult } from './eval/perplexity.ts';
export { tune, parseBudget, trialTable, writeTunedConfig } from './train/tune.ts';
export type { TuneOptions, TuneResult, Trial } from './train/tune.ts';
