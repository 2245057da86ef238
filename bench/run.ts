/**
 * Benchmarks: `npm run bench -- <name> [options]`. Each prints a table and writes JSON to
 * bench/results/<name>.json.
 *
 *   npm run bench -- matmul            CPU (and GPU, when present) float32 matmul GFLOP/s
 *   npm run bench -- tokenizer         GPT-2 tokenizer MB/s, ours next to js-tiktoken
 *   npm run bench -- data              getBatch(64, 256) batches/s, mmap vs positional reads
 *   npm run bench -- train-step        GPT training step ms, ours next to PyTorch (--peer python3)
 *   npm run bench -- quantize          int8/int4 against float32: memory, logit deviation, perplexity, tokens/s
 *   npm run bench -- gpu-step          per trainer step: dispatches, submits, peak bytes, host µs per dispatch, ms
 *   npm run bench -- generate          tokens/s with and without the KV cache, kernels and dispatches per token, PyTorch CPU beside
 *   npm run bench -- gpu-evidence      on a borrowed GPU: matmul TFLOP/s, train step ms, generation tok/s, PyTorch CUDA beside, one JSON
 *   npm run bench -- serve             the HTTP server under 16 concurrent clients: p50/p95 latency, tokens/s, errors
 *   npm run bench -- browser           the demo page in headless Chromium (CPU, WebGPU) next to Node: train and sample tokens/s, bundle size
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const benches: Record<string, () => Promise<{ rows: Record<string, unknown>[]; meta?: Record<string, unknown> }>> = {
  matmul: async () => (await import('./matmul.ts')).run(process.argv.slice(3)),
  tokenizer: async () => (await import('./tokenizer.ts')).run(process.argv.slice(3)),
  data: async () => (await import('./data.ts')).run(process.argv.slice(3)),
  'train-step': async () => (await import('./train-step.ts')).run(process.argv.slice(3)),
  quantize: async () => (await import('./quantize.ts')).run(process.argv.slice(3)),
  'gpu-step': async () => (await import('./gpu-step.ts')).run(process.argv.slice(3)),
  generate: async () => (await import('./generate.ts')).run(process.argv.slice(3)),
  'gpu-evidence': async () => (await import('./gpu-evidence.ts')).run(process.argv.slice(3)),
  serve: async () => (await import('./serve.ts')).run(process.argv.slice(3)),
  browser: async () => (await import('./browser.ts')).run(process.argv.slice(3)),
};

const name = process.argv[2];
if (name === undefined || !(name in benches)) {
  console.error(`usage: npm run bench -- <${Object.keys(benches).join('|')}> [options]`);
  process.exit(2);
}
const { rows, meta } = await benches[name]!();
console.table(rows);
const out = join(dirname(fileURLToPath(import.meta.url)), 'results', `${name}.json`);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify({ bench: name, date: new Date().toISOString(), node: process.version, ...meta, rows }, null, 2));
console.log(`wrote ${out}`);
