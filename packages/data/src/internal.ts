/**
 * @llmts/data/internal — helpers the other @llmts packages share (progress lines, formatting,
 * seeded batching, the mmap addon probe, UTF-8 validation). Not a stable API.
 */
export { mmapAddon } from './corpus/token-source.ts';
export { Utf8Validator } from './corpus/utf8.ts';
export { seededPermutation, indexBatches } from './batching.ts';
export { ProgressLine, formatBytes, formatCount, formatDuration } from './progress.ts';
