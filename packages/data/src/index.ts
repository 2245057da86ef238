/**
 * @llmts/data — tokenizers, corpus preparation, memory-mapped token datasets, and the
 * instruction / classification datasets of the fine-tuning chapters. The package's public door in
 * Node: everything browser.ts offers a page, and the pieces that read and write files (helpers the
 * other @llmts packages share live in `@llmts/data/internal`).
 */
export * from './browser.ts';
export { gpt2Tokenizer } from './tokenizers/gpt2.ts';
// GPT-2's tables from the shipped files where a tokenizer.json says {"type": "gpt2"}
export { tokenizerFromJSON, loadTokenizer, saveTokenizer } from './tokenizers/load.ts';
export { TokenDataset } from './corpus/dataset.ts';
export type { CorpusMeta, Split, Batch } from './corpus/dataset.ts';
export { openTokenSource } from './corpus/token-source.ts';
export type { TokenSource, TokenDtype, ReadBackend } from './corpus/token-source.ts';
export { prepareCorpus, listInputs } from './corpus/prepare.ts';
export type { PrepareOptions, PrepareProgress } from './corpus/prepare.ts';
export { loadInstructionData } from './finetune/instruction-file.ts';
export { loadSmsSpam, readLabeledTexts, numberLabels, balanceClasses, randomSplit, ClassificationDataset } from './finetune/classification.ts';
export type { LabeledText, NamedLabelText } from './finetune/classification.ts';
