/**
 * @llmts/gpt in a browser page (the package's `browser` export condition): the model, generation,
 * sampling, training step by step on text in memory, and checkpoints as bytes (loaded from
 * fetch()/File, saved as files or one tar to download). Directories, the trainer of runs on disk,
 * fine-tuning, the server and the CLI are Node's (index.ts).
 */
export { GPT, Transformer, Block, CausalSelfAttention, MLP, KVCache } from './model.ts';
export type { ForwardOutput } from './model.ts';
export { BigramLanguageModel } from './bigram.ts';
export { defaultConfig, makeConfig } from './config.ts';
export type { GPTConfig } from './config.ts';
export { presets, getPreset } from './presets.ts';
export type { Preset, TrainConfig } from './presets.ts';
export { generate } from './generate.ts';
export { nextTask } from './next-task.ts';
export type { GenerateOptions } from './generate.ts';
export { nextTokenProbs, sampleRows, argmaxOf } from './sampling.ts';
export type { SamplingOptions } from './sampling.ts';
export { trainStep } from './train/step.ts';
export { TrainStepper } from './train/stepper.ts';
export type { StepSettings } from './train/step.ts';
export { estimateTrainingMemory, largestBatchSize } from './train/memory.ts';
export type { MemoryEstimate } from './train/memory.ts';
export { plotSvg } from './train/plot.ts';
export type { Series } from './train/plot.ts';
export { toHFConfig, fromHFConfig, usesGPT2Tokenizer } from './hf/config.ts';
export type { LlmtsConfigExtras } from './hf/config.ts';
export { hfTensors, loadWeightsFrom } from './hf/weights.ts';
export type { HFLayoutModel } from './hf/weights.ts';
export { loadGPTFromFiles, gptToFiles, gptToTar, vocabularyCovers } from './hf/checkpoint-bytes.ts';
export type { CheckpointFiles, LoadedFromFiles } from './hf/checkpoint-bytes.ts';
export { huggingFaceFiles } from './hf/files.ts';
export type { ChatTemplate } from './hf/files.ts';
export { tarFiles, untarFiles } from './hf/tar.ts';
export { TextTrainer } from './train/text-trainer.ts';
export type { TextTrainerOptions, TextStepResult } from './train/text-trainer.ts';
export { TextStream } from './text-stream.ts';
