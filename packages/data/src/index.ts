/**
 * @llmts/data — tokenizers, corpus preparation, memory-mapped token datasets, and the
 * instruction / classification datasets of the fine-tuning chapters. The package's public door
 * (helpers the other @llmts packages share live in `@llmts/data/internal`).
 */
export type { Tokenizer, TokenizerJSON, EncodeOptions } from './tokenizers/tokenizer.ts';
export { CharTokenizer, unknownCharacters } from './tokenizers/char.ts';
export { WordTokenizer } from './tokenizers/word.ts';
export { ByteLevelBPE, GPT2_PATTERN } from './tokenizers/bpe.ts';
export type { BpeTables } from './tokenizers/bpe.ts';
export { gpt2Tokenizer, bytesToUnicode } from './tokenizers/gpt2.ts';
export { trainBpe } from './tokenizers/train-bpe.ts';
export type { TrainBpeOptions } from './tokenizers/train-bpe.ts';
export { tokenizerFromJSON, loadTokenizer, saveTokenizer } from './tokenizers/load.ts';
export { toHuggingFace, fromHuggingFace, isHuggingFaceJSON } from './tokenizers/hf.ts';
export type { HFTokenizerJSON } from './tokenizers/hf.ts';
export { TokenDataset } from './corpus/dataset.ts';
export type { CorpusMeta, Split, Batch } from './corpus/dataset.ts';
export { openTokenSource } from './corpus/token-source.ts';
export type { TokenSource, TokenDtype, ReadBackend } from './corpus/token-source.ts';
export { prepareCorpus, listInputs } from './corpus/prepare.ts';
export type { PrepareOptions, PrepareProgress } from './corpus/prepare.ts';
export {
  loadInstructionData, formatInstructionPrompt, formatChatPrompt, ALPACA_PREAMBLE, formatInstructionExample, splitInstructionData, InstructionDataset, collateInstructions, instructionBatches,
} from './finetune/instruction.ts';
export type { InstructionExample, CollateOptions } from './finetune/instruction.ts';
export { loadSmsSpam, readLabeledTexts, numberLabels, balanceClasses, randomSplit, ClassificationDataset } from './finetune/classification.ts';
export type { LabeledText, NamedLabelText } from './finetune/classification.ts';
