#!/usr/bin/env node
// The llmts command: the built JavaScript of @llmts/gpt (npm run build makes ../dist).
import { runCli } from '../dist/cli/main.js';

await runCli(process.argv.slice(2));
