#!/usr/bin/env node
// The llmts command: runs the TypeScript sources through tsx (no build step).
import { register } from 'tsx/esm/api';

// Commands that never touch a device need not open Dawn (faster start, no device line).
const hostOnly = new Set(['tokenize', 'detokenize', 'prepare', 'help', '--help', '-h', undefined]);
if (hostOnly.has(process.argv[2]) || process.argv.includes('--help')) {
  process.env.LLMTS_WEBGPU ??= '0';
  process.env.LLMTS_QUIET ??= '1';
}
register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
