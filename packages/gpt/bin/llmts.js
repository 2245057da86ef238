#!/usr/bin/env node
// The llmts command: the built JavaScript of @llmts/gpt (npm run build makes ../dist).
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
