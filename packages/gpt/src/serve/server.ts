/**
 * An OpenAI-compatible HTTP server for one GPT: POST /v1/completions and /v1/chat/completions
 * (with `stream: true` as server-sent events), GET /v1/models and /health. Requests are checked
 * and refused with OpenAI's error JSON and a 4xx status; any other failure is a 500 with the same
 * shape, and the server keeps serving. Generation runs one request at a time (see Engine).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { formatChatPrompt } from '@llmts/data';
import type { LoadedGPT } from '../checkpoint.ts';
import { Engine, type JobResult } from './engine.ts';
import { ApiError, parseChat, parseCompletion, type RequestLimits, type SamplingRequest } from './requests.ts';

export interface ServeOptions {
  host?: string;
  port?: number;
  /** The name /v1/models reports and responses carry (default: the checkpoint directory's name). */
  modelName?: string;
  /** Largest request body in bytes (default 1 MiB). */
  maxBodyBytes?: number;
  /** Largest max_tokens (default 4096) and n (default 8) a request may ask for. */
  limits?: Partial<RequestLimits>;
}

/** A running server: its address, and `close()`, which lets queued requests finish first. */
export interface RunningServer {
  url: string;
  engine: Engine;
  close(): Promise<void>;
}

const id = (prefix: string) => `${prefix}-${randomBytes(12).toString('hex')}`;

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** The request body as JSON, refused past `limit` bytes or when it does not parse. */
function readBody(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new ApiError(413, `the request body is over ${limit} bytes`, null, 'request_too_large'));
        req.removeAllListeners('data');
        req.resume();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (size > limit) return;
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch (e) {
        reject(new ApiError(400, `the request body is not valid JSON (${(e as Error).message})`, null, 'invalid_json'));
        return;
      }
      if (body === null || typeof body !== 'object' || Array.isArray(body)) reject(new ApiError(400, 'the request body must be a JSON object', null, 'invalid_json'));
      else resolve(body as Record<string, unknown>);
    });
    req.on('error', reject);
  });
}

/**
 * Serve `loaded` over HTTP until `close()`.
 * @example const server = await serve(loadGPT('runs/shk'), { port: 8000 }); console.log(server.url);
 */
export async function serve(loaded: LoadedGPT, options: ServeOptions = {}): Promise<RunningServer> {
  const engine = new Engine(loaded.model, loaded.tokenizer);
  const modelName = options.modelName ?? (loaded.dir.split(/[\\/]/).filter((p) => p !== 'best' && p !== 'last' && p !== '').at(-1) ?? 'llmts');
  const limits: RequestLimits = { maxTokens: 4096, maxN: 8, ...options.limits };
  const maxBody = options.maxBodyBytes ?? 1 << 20;
  const created = Math.floor(Date.now() / 1000);
  const blockSize = loaded.model.config.blockSize;

  const encodePrompt = (prompt: string | number[], param: string): number[] => {
    let ids: number[];
    try {
      ids = typeof prompt === 'string' ? loaded.tokenizer.encode(prompt, { specialAsText: true }) : prompt;
    } catch (e) {
      throw new ApiError(400, `the model's tokenizer cannot encode the ${param}: ${(e as Error).message}`, param, 'invalid_value');
    }
    if (ids.length === 0) throw new ApiError(400, 'the prompt is empty', 'prompt', 'invalid_value');
    for (const t of ids) if (t >= loaded.model.config.vocabSize) throw new ApiError(400, `token ${t} is outside the vocabulary of ${loaded.model.config.vocabSize}`, 'prompt', 'invalid_value');
    if (ids.length > blockSize) throw new ApiError(400, `This model's maximum context length is ${blockSize} tokens, however the ${param} has ${ids.length} tokens`, param, 'context_length_exceeded');
    return ids;
  };

  const usage = (r: JobResult) => ({ prompt_tokens: r.promptTokens, completion_tokens: r.completionTokens, total_tokens: r.promptTokens + r.completionTokens });

  /** Run a request, streaming or not; `chunk` and `final` shape the endpoint's objects. */
  const respond = async (req: IncomingMessage, res: ServerResponse, s: SamplingRequest, prompt: number[], shape: {
    object: string;
    chunkObject: string;
    prefix: string;
    first?: (index: number) => unknown;
    delta: (index: number, text: string) => unknown;
    end: (index: number, finish: string) => unknown;
    whole: (r: JobResult) => unknown[];
  }) => {
    const rid = id(shape.prefix);
    let gone = false;
    res.on('close', () => { if (!res.writableFinished) gone = true; });
    const base = { id: rid, created: Math.floor(Date.now() / 1000), model: modelName };
    const job = { prompt, maxTokens: s.maxTokens, temperature: s.temperature, topP: s.topP, stop: s.stop, seed: s.seed, n: s.n, cancelled: () => gone };
    if (!s.stream) {
      const r = await engine.run(job);
      if (r !== null && !gone) sendJson(res, 200, { ...base, object: shape.object, choices: shape.whole(r), usage: usage(r) });
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
    const send = (data: unknown) => { if (!gone) res.write(`data: ${JSON.stringify(data)}\n\n`); };
    let started = false;
    const r = await engine.run({
      ...job,
      onDelta: (index, text) => {
        if (!started && shape.first) for (let i = 0; i < s.n; i++) send({ ...base, object: shape.chunkObject, choices: [shape.first(i)] });
        started = true;
        send({ ...base, object: shape.chunkObject, choices: [shape.delta(index, text)] });
      },
    });
    if (r === null || gone) return;
    if (!started && shape.first) for (let i = 0; i < s.n; i++) send({ ...base, object: shape.chunkObject, choices: [shape.first(i)] });
    r.choices.forEach((c, i) => send({ ...base, object: shape.chunkObject, choices: [shape.end(i, c.finishReason)] }));
    if (s.includeUsage) send({ ...base, object: shape.chunkObject, choices: [], usage: usage(r) });
    res.end('data: [DONE]\n\n');
  };

  const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => Promise<void>> = {
    'GET /health': async (_req, res) => sendJson(res, 200, { status: 'ok', model: modelName, queued: engine.pending }),
    'GET /v1/models': async (_req, res) => sendJson(res, 200, { object: 'list', data: [{ id: modelName, object: 'model', created, owned_by: 'llmts' }] }),
    'POST /v1/completions': async (req, res) => {
      const r = parseCompletion(await readBody(req, maxBody), limits);
      await respond(req, res, r, encodePrompt(r.prompt, 'prompt'), {
        object: 'text_completion', chunkObject: 'text_completion', prefix: 'cmpl',
        delta: (index, text) => ({ index, text, logprobs: null, finish_reason: null }),
        end: (index, finish) => ({ index, text: '', logprobs: null, finish_reason: finish }),
        whole: (out) => out.choices.map((c, index) => ({ index, text: c.text, logprobs: null, finish_reason: c.finishReason })),
      });
    },
    'POST /v1/chat/completions': async (req, res) => {
      const r = parseChat(await readBody(req, maxBody), limits);
      await respond(req, res, r, encodePrompt(formatChatPrompt(r.messages), 'messages'), {
        object: 'chat.completion', chunkObject: 'chat.completion.chunk', prefix: 'chatcmpl',
        first: (index) => ({ index, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }),
        delta: (index, text) => ({ index, delta: { content: text }, logprobs: null, finish_reason: null }),
        end: (index, finish) => ({ index, delta: {}, logprobs: null, finish_reason: finish }),
        whole: (out) => out.choices.map((c, index) => ({ index, message: { role: 'assistant', content: c.text, refusal: null }, logprobs: null, finish_reason: c.finishReason })),
      });
    },
  };

  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!.replace(/\/+$/, '') || '/';
    const route = routes[`${req.method} ${path}`];
    const handle = route
      ? route(req, res)
      : Promise.reject(new ApiError(Object.keys(routes).some((k) => k.endsWith(` ${path}`)) ? 405 : 404, `no route ${req.method} ${path} (routes: ${Object.keys(routes).join(', ')})`, null, 'not_found'));
    handle.catch((e: unknown) => {
      if (e instanceof ApiError) sendJson(res, e.status, e.body());
      else sendJson(res, 500, new ApiError(500, `internal error: ${(e as Error).message}`, null, null, 'server_error').body());
      if (e instanceof ApiError && e.status === 413) res.on('finish', () => req.destroy());
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8000, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    engine,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await engine.drain();
      server.closeIdleConnections();
      await closed;
    },
  };
}
