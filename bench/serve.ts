/**
 * The OpenAI-compatible server under load: `--clients` concurrent clients (the official openai
 * package), each sending `--requests` completions of `--tokens` tokens; request latency p50/p95,
 * generated tokens/s over the whole run, and errors (must be 0).
 *
 *   npm run bench -- serve [--checkpoint DIR] [--clients 16] [--requests 4] [--tokens 64] [--stream] [--device cpu]
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { init, type Device } from '@llmts/tensor';
import { loadGPT, serve } from '@llmts/gpt';

function option(args: string[], name: string, fallback?: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
}

const root = fileURLToPath(new URL('..', import.meta.url));
const percentile = (xs: number[], p: number) => xs.slice().sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;

export async function run(args: string[]) {
  await init();
  const fallback = existsSync(`${root}runs/shakespeare-char-cpu/best`) ? `${root}runs/shakespeare-char-cpu` : `${root}tests/fixtures/llmts-trained`;
  const checkpoint = option(args, 'checkpoint', fallback)!;
  const clients = Number(option(args, 'clients', '16'));
  const requests = Number(option(args, 'requests', '4'));
  const tokens = Number(option(args, 'tokens', '64'));
  const stream = args.includes('--stream');
  const device = option(args, 'device') as Device | undefined;
  const server = await serve(loadGPT(checkpoint, device ? { device } : {}), { port: 0 });
  const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 600_000 });
  const latencies: number[] = [];
  let generated = 0;
  let errors = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: clients }, async (_, c) => {
    for (let r = 0; r < requests; r++) {
      const start = performance.now();
      try {
        if (stream) {
          for await (const chunk of await client.completions.create({ model: 'm', prompt: '\n', max_tokens: tokens, temperature: 0.8, seed: c * 1000 + r, stream: true, stream_options: { include_usage: true } })) {
            if (chunk.usage) generated += chunk.usage.completion_tokens;
          }
        } else {
          const out = await client.completions.create({ model: 'm', prompt: '\n', max_tokens: tokens, temperature: 0.8, seed: c * 1000 + r });
          generated += out.usage?.completion_tokens ?? 0;
        }
        latencies.push(performance.now() - start);
      } catch {
        errors++;
      }
    }
  }));
  const seconds = (performance.now() - t0) / 1000;
  await server.close();
  return {
    rows: [{ checkpoint: checkpoint.split('/').slice(-1)[0], clients, requests: clients * requests, stream, p50ms: +percentile(latencies, 0.5).toFixed(0), p95ms: +percentile(latencies, 0.95).toFixed(0), tokensPerSec: +(generated / seconds).toFixed(1), errors }],
    meta: { tokensPerRequest: tokens, seconds: +seconds.toFixed(2) },
  };
}
