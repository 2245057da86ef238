/**
 * @llmts/gpt — the GPT model, training, generation and the llmts CLI. The package's door in Node:
 * everything browser.ts offers a page, and the pieces on files (checkpoint directories, the trainer
 * of runs, fine-tuning, evaluation, the server); the `llmts` command is bin/llmts.js.
 */
export * from './browser.ts';
export { train, estimateLoss, writePlots } from './train/trainer.ts';
export type { TrainOptions, TrainResult, LogEntry } from './train/trainer.ts';
export { plotPng } from './train/plot-png.ts';
export { loadGPT, resolveModelDir } from './checkpoint.ts';
export type { LoadedGPT, LoadGPTOptions } from './checkpoint.ts';
export { saveHuggingFace, saveGPT } from './hf/export.ts';
export type { SaveGPTOptions } from './hf/export.ts';
export { serve } from './serve/server.ts';
export type { ServeOptions, RunningServer } from './serve/server.ts';
export { loadHFWeights } from './hf/load-weights.ts';
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
