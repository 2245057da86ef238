/**
 * @llmts/gpt — the GPT model, training, generation, GPT-2 import and the llmts CLI.
 * This file is the package's only door.
 */
export { main as cliMain, commands } from './cli/main.ts';
export { parseArgs, helpText, UsageError } from './cli/args.ts';
export type { CommandSpec, FlagSpec, ParsedArgs } from './cli/args.ts';
