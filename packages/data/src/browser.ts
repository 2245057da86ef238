/**
 * @llmts/data in a browser page (the package's `browser` export condition): the tokenizers, with
 * no file access. Files, token datasets and corpus preparation are Node's (the package's main door);
 * here tokenizers come from their JSON (a checkpoint's tokenizer.json) or GPT-2's fetched tables.
 */
export type { Tokenizer, TokenizerJSON, EncodeOptions } from './tokenizers/tokenizer.ts';
export { CharTokenizer, unknownCharacters } from './tokenizers/char.ts';
export { WordTokenizer } from './tokenizers/word.ts';
export { ByteLevelBPE, GPT2_PATTERN } from './tokenizers/bpe.ts';
export type { BpeTables } from './tokenizers/bpe.ts';
export { gpt2FromTables, bytesToUnicode } from './tokenizers/gpt2-tables.ts';
export { trainBpe } from './tokenizers/train-bpe.ts';
export type { TrainBpeOptions } from './tokenizers/train-bpe.ts';
export { tokenizerFromJSON } from './tokenizers/from-json.ts';
export { toHuggingFace, fromHuggingFace, isHuggingFaceJSON } from './tokenizers/hf.ts';
export type { HFTokenizerJSON } from './tokenizers/hf.ts';
export {
  formatInstructionPrompt, formatChatPrompt, ALPACA_PREAMBLE, formatInstructionExample, splitInstructionData, InstructionDataset, collateInstructions, instructionBatches,
} from './finetune/instruction.ts';
export type { InstructionExample, CollateOptions } from './finetune/instruction.ts';
