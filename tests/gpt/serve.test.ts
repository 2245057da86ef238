// The OpenAI-compatible server, exercised with the official `openai` client: completions and chat,
// streaming and not, stop sequences, n and seed, usage, OpenAI-shaped errors for bad requests,
// requests queued instead of interleaved, clients that leave mid-stream, and SIGTERM.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { generate, loadGPT, serve, type RunningServer } from '@llmts/gpt';

const root = fileURLToPath(new URL('../..', import.meta.url));
const charModel = join(root, 'tests/fixtures/llmts-trained');
const bpeModel = join(root, '../shared/fixtures/hf-gpt2-tiny');

let server: RunningServer;
let client: OpenAI;
const greedy = async (prompt: string, n: number) => {
  const { model, tokenizer } = loadGPT(charModel, { device: 'cpu' });
  const [ids] = await generate(model, [tokenizer.encode(prompt)], { maxNewTokens: n, temperature: 0 });
  model.dispose();
  return tokenizer.decode(ids!);
};

beforeAll(async () => {
  server = await serve(loadGPT(charModel, { device: 'cpu' }), { port: 0, modelName: 'tiny-char', maxBodyBytes: 64 * 1024, limits: { maxTokens: 500 } });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
});
afterAll(async () => { await server.close(); });

describe('completions', () => {
  it('lists the model and answers health checks', async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['tiny-char']);
    expect(await (await fetch(`${server.url}/health`)).json()).toMatchObject({ status: 'ok', model: 'tiny-char' });
  });

  it('gives the greedy continuation with usage, streamed or whole', async () => {
    const want = await greedy('I had always', 30);
    const r = await client.completions.create({ model: 'tiny-char', prompt: 'I had always', max_tokens: 30, temperature: 0 });
    expect(r.object).toBe('text_completion');
    expect(r.choices[0]!.text).toBe(want);
    expect(r.choices[0]!.finish_reason).toBe('length');
    expect(r.usage).toEqual({ prompt_tokens: 12, completion_tokens: 30, total_tokens: 42 });
    const stream = await client.completions.create({ model: 'tiny-char', prompt: 'I had always', max_tokens: 30, temperature: 0, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let usage: unknown = null;
    let finish: string | null = null;
    for await (const chunk of stream) {
      for (const c of chunk.choices) { text += c.text; finish = c.finish_reason ?? finish; }
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe(want);
    expect(finish).toBe('length');
    expect(usage).toEqual({ prompt_tokens: 12, completion_tokens: 30, total_tokens: 42 });
  });

  it('stops at a stop sequence, leaving it out, also when streaming', async () => {
    const full = await greedy('I had always', 40);
    const stopAt = full.slice(10, 13);
    const cut = full.indexOf(stopAt);
    for (const stream of [false, true]) {
      let text = '';
      let finish: string | null = null;
      if (stream) {
        for await (const chunk of await client.completions.create({ model: 'x', prompt: 'I had always', max_tokens: 40, temperature: 0, stop: [stopAt, 'zzzz'], stream: true })) {
          for (const c of chunk.choices) { text += c.text; finish = c.finish_reason ?? finish; }
        }
      } else {
        const r = await client.completions.create({ model: 'x', prompt: 'I had always', max_tokens: 40, temperature: 0, stop: stopAt });
        text = r.choices[0]!.text;
        finish = r.choices[0]!.finish_reason;
      }
      expect(text, `stream ${stream}`).toBe(full.slice(0, cut));
      expect(finish).toBe('stop');
    }
  });

  it('draws n choices, reproducibly with a seed', async () => {
    const ask = () => client.completions.create({ model: 'x', prompt: 'The', max_tokens: 25, temperature: 1, n: 3, seed: 7 });
    const [a, b] = [await ask(), await ask()];
    expect(a.choices).toHaveLength(3);
    expect(a.choices.map((c) => c.text)).toEqual(b.choices.map((c) => c.text));
    expect(new Set(a.choices.map((c) => c.text)).size).toBeGreaterThan(1);
    expect(a.usage!.completion_tokens).toBe(75);
  });
});

describe.skipIf(!existsSync(bpeModel))('chat completions (Alpaca template) on a GPT-2 checkpoint', () => {
  it('answers, streamed or whole, with the same text', async () => {
    const gpt2 = await serve(loadGPT(bpeModel, { device: 'cpu' }), { port: 0 });
    try {
      const c = new OpenAI({ baseURL: `${gpt2.url}/v1`, apiKey: 'unused', maxRetries: 0 });
      const messages = [{ role: 'system' as const, content: 'You are terse.' }, { role: 'user' as const, content: 'Name a colour.' }];
      const r = await c.chat.completions.create({ model: 'hf-gpt2-tiny', messages, max_tokens: 12, temperature: 0 });
      expect(r.object).toBe('chat.completion');
      expect(r.choices[0]!.message.role).toBe('assistant');
      expect(r.usage!.completion_tokens).toBeGreaterThan(0);
      let text = '';
      let role: string | undefined;
      for await (const chunk of await c.chat.completions.create({ model: 'hf-gpt2-tiny', messages, max_tokens: 12, temperature: 0, stream: true })) {
        role ??= chunk.choices[0]?.delta.role;
        text += chunk.choices[0]?.delta.content ?? '';
      }
      expect(role).toBe('assistant');
      expect(text).toBe(r.choices[0]!.message.content);
    } finally {
      await gpt2.close();
    }
  });
});

describe('bad requests get OpenAI errors, and the server keeps serving', () => {
  const post = (path: string, body: string) => fetch(`${server.url}${path}`, { method: 'POST', body, headers: { 'Content-Type': 'application/json' } });
  it.each([
    ['malformed JSON', '/v1/completions', '{"prompt": ', 400, 'invalid_json'],
    ['a field of the wrong type', '/v1/completions', JSON.stringify({ prompt: 'hi', max_tokens: 'many' }), 400, 'invalid_type'],
    ['max_tokens over the limit', '/v1/completions', JSON.stringify({ prompt: 'hi', max_tokens: 501 }), 400, 'invalid_value'],
    ['a prompt longer than the context', '/v1/completions', JSON.stringify({ prompt: 'I had always thought Jack Gisburn rather a cheap genius' }), 400, 'context_length_exceeded'],
    ['a character the tokenizer lacks', '/v1/completions', JSON.stringify({ prompt: 'héllo' }), 400, 'invalid_value'],
    ['no messages', '/v1/chat/completions', JSON.stringify({ messages: [] }), 400, 'invalid_type'],
    ['a body over the size cap', '/v1/completions', JSON.stringify({ prompt: 'x'.repeat(70 * 1024) }), 413, 'request_too_large'],
    ['an unknown route', '/v1/embeddings', '{}', 404, 'not_found'],
  ] as const)('%s', async (_name, path, body, status, code) => {
    const r = await post(path, body);
    expect(r.status).toBe(status);
    const json = (await r.json()) as { error: { message: string; type: string; code: string } };
    expect(json.error.code).toBe(code);
    expect(json.error.message.length).toBeGreaterThan(0);
    expect((await client.completions.create({ model: 'x', prompt: 'I', max_tokens: 2 })).choices).toHaveLength(1);
  });

  it('the client raises the status and message', async () => {
    await expect(client.completions.create({ model: 'x', prompt: 'hi', max_tokens: 501 })).rejects.toMatchObject({ status: 400 });
  });
});

describe('concurrency', () => {
  it('queues concurrent requests: each gets exactly what it gets alone', async () => {
    const ask = (seed: number) => client.completions.create({ model: 'x', prompt: 'The', max_tokens: 40, temperature: 1, seed });
    const alone = [];
    for (const seed of [1, 2, 3, 4]) alone.push((await ask(seed)).choices[0]!.text);
    const together = await Promise.all([1, 2, 3, 4].map(async (seed) => {
      let text = '';
      for await (const chunk of await client.completions.create({ model: 'x', prompt: 'The', max_tokens: 40, temperature: 1, seed, stream: true })) text += chunk.choices[0]?.text ?? '';
      return text;
    }));
    expect(together).toEqual(alone);
  });

  it.skipIf(!existsSync(bpeModel))('a client that leaves mid-stream frees the server at once', async () => {
    // GPT-2's vocabulary makes each token slow enough on the CPU (~7 ms) that 500 of them take seconds
    const slow = await serve(loadGPT(bpeModel, { device: 'cpu' }), { port: 0 });
    try {
      const c = new OpenAI({ baseURL: `${slow.url}/v1`, apiKey: 'unused', maxRetries: 0 });
      const controller = new AbortController();
      const stream = await c.completions.create({ model: 'x', prompt: 'The', max_tokens: 500, temperature: 1, stream: true }, { signal: controller.signal });
      let chunks = 0;
      try {
        for await (const _ of stream) if (++chunks === 3) controller.abort();
      } catch {
        // the client reports its own abort
      }
      const t0 = Date.now();
      while (slow.engine.pending > 0 && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 10));
      expect(slow.engine.pending).toBe(0);
      expect(Date.now() - t0).toBeLessThan(1000);
    } finally {
      await slow.close();
    }
  });
});

describe('llmts serve', () => {
  it('finishes the request in flight on SIGTERM and exits 0', async () => {
    const child = spawn(process.execPath, [join(root, 'packages/gpt/bin/llmts.js'), 'serve', '--checkpoint', charModel, '--port', '0', '--device', 'cpu'], { env: { ...process.env, LLMTS_QUIET: '1', LLMTS_WEBGPU: '0' } });
    let err = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /on (http:\/\/[^\s]+)\/v1/.exec(err);
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
    });
    const c = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const pending = c.completions.create({ model: 'x', prompt: 'The', max_tokens: 400, temperature: 1 });
    await new Promise((r) => setTimeout(r, 100));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const r = await pending;
    expect(r.usage!.completion_tokens).toBe(400);
    expect(await exited).toBe(0);
  });
});
