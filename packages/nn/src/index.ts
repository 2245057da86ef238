/**
 * @llmts/nn — modules, layers, optimizers, schedules and checkpoints on top of @llmts/tensor.
 * The package's door in Node: everything browser.ts offers a page, and checkpoint directories.
 */
export * from './browser.ts';
export { saveCheckpoint, loadCheckpoint, resolveCheckpointDir, removeStaleTemps, readJsonFile } from './checkpoint.ts';
export type { CheckpointContents, LoadedCheckpoint } from './checkpoint.ts';
