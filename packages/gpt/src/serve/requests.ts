/**
 * The OpenAI API's request bodies, checked field by field: a wrong type or value is an
 * `ApiError` carrying OpenAI's error shape and a 4xx status. Unknown fields are ignored, as
 * clients send options a small server does not implement (logprobs, user, …).
 */
import type { GenerationSettings } from './engine.ts';

/** An error the server answers with `{ "error": { message, type, param, code } }`. */
export class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly param: string | null = null, readonly code: string | null = null, readonly type = 'invalid_request_error') {
    super(message);
  }

  /** The response body. */
  body(): { error: { message: string; type: string; param: string | null; code: string | null } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** What generation needs, common to both endpoints. */
export interface SamplingRequest extends GenerationSettings {
  model: string | undefined;
  stream: boolean;
  includeUsage: boolean;
}

export interface CompletionRequest extends SamplingRequest {
  prompt: string | number[];
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatRequest extends SamplingRequest {
  messages: ChatMessage[];
}

/** Limits a server enforces. */
export interface RequestLimits {
  maxTokens: number;
  maxN: number;
}

type Body = Record<string, unknown>;

function field<T>(body: Body, name: string, check: (v: unknown) => v is T, want: string, fallback: T): T {
  const v = body[name];
  if (v === undefined || v === null) return fallback;
  if (!check(v)) throw new ApiError(400, `'${name}' must be ${want}, got ${JSON.stringify(v)?.slice(0, 80)}`, name, 'invalid_type');
  return v;
}

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const isBool = (v: unknown): v is boolean => typeof v === 'boolean';
const isString = (v: unknown): v is string => typeof v === 'string';

function sampling(body: Body, limits: RequestLimits, defaultMaxTokens: number): SamplingRequest {
  const maxTokens = field(body, 'max_completion_tokens', isInt, 'an integer', field(body, 'max_tokens', isInt, 'an integer', defaultMaxTokens));
  if (maxTokens < 1 || maxTokens > limits.maxTokens) throw new ApiError(400, `'max_tokens' must be between 1 and ${limits.maxTokens}, got ${maxTokens}`, 'max_tokens', 'invalid_value');
  const temperature = field(body, 'temperature', isNumber, 'a number', 1);
  if (temperature < 0 || temperature > 2) throw new ApiError(400, `'temperature' must be between 0 and 2, got ${temperature}`, 'temperature', 'invalid_value');
  const topP = field(body, 'top_p', isNumber, 'a number', 1);
  if (topP <= 0 || topP > 1) throw new ApiError(400, `'top_p' must be in (0, 1], got ${topP}`, 'top_p', 'invalid_value');
  const rawStop = body.stop;
  let stop: string[] = [];
  if (typeof rawStop === 'string') stop = [rawStop];
  else if (Array.isArray(rawStop) && rawStop.every(isString)) stop = rawStop;
  else if (rawStop !== undefined && rawStop !== null) throw new ApiError(400, `'stop' must be a string or an array of strings, got ${JSON.stringify(rawStop)?.slice(0, 80)}`, 'stop', 'invalid_type');
  if (stop.length > 4) throw new ApiError(400, `'stop' takes at most 4 sequences, got ${stop.length}`, 'stop', 'invalid_value');
  stop = stop.filter((s) => s.length > 0);
  const seed = body.seed === undefined || body.seed === null ? undefined : field(body, 'seed', isInt, 'an integer', 0);
  const n = field(body, 'n', isInt, 'an integer', 1);
  if (n < 1 || n > limits.maxN) throw new ApiError(400, `'n' must be between 1 and ${limits.maxN}, got ${n}`, 'n', 'invalid_value');
  const stream = field(body, 'stream', isBool, 'a boolean', false);
  const options = body.stream_options;
  if (options !== undefined && options !== null && (typeof options !== 'object' || Array.isArray(options))) throw new ApiError(400, "'stream_options' must be an object", 'stream_options', 'invalid_type');
  const includeUsage = options ? field(options as Body, 'include_usage', isBool, 'a boolean', false) : false;
  const model = field(body, 'model', isString, 'a string', undefined as unknown as string) as string | undefined;
  return { model, maxTokens, temperature, topP, stop, seed, n, stream, includeUsage };
}

/** POST /v1/completions: `prompt` is a string, a one-string array, or an array of token ids. */
export function parseCompletion(body: Body, limits: RequestLimits): CompletionRequest {
  let prompt: string | number[];
  const raw = body.prompt;
  if (typeof raw === 'string') prompt = raw;
  else if (Array.isArray(raw) && raw.length === 1 && typeof raw[0] === 'string') prompt = raw[0];
  else if (Array.isArray(raw) && raw.length > 0 && raw.every((v) => isInt(v) && v >= 0)) prompt = raw as number[];
  else if (raw === undefined) throw new ApiError(400, "'prompt' is required", 'prompt', 'missing_required_parameter');
  else throw new ApiError(400, `'prompt' must be a string or an array of token ids, got ${JSON.stringify(raw)?.slice(0, 80)}`, 'prompt', 'invalid_type');
  return { ...sampling(body, limits, 16), prompt };
}

/** POST /v1/chat/completions: `messages` of system, user and assistant turns with text content. */
export function parseChat(body: Body, limits: RequestLimits): ChatRequest {
  const raw = body.messages;
  if (!Array.isArray(raw) || raw.length === 0) throw new ApiError(400, "'messages' must be a non-empty array", 'messages', raw === undefined ? 'missing_required_parameter' : 'invalid_type');
  const messages = raw.map((m, i): ChatMessage => {
    const role = (m as Body | null)?.role;
    let content = (m as Body | null)?.content;
    if (role !== 'system' && role !== 'user' && role !== 'assistant' && role !== 'developer') throw new ApiError(400, `'messages[${i}].role' must be system, user or assistant, got ${JSON.stringify(role)}`, `messages[${i}].role`, 'invalid_value');
    // content parts of type text are joined; other parts (images) are not supported
    if (Array.isArray(content) && content.every((p) => (p as Body)?.type === 'text' && typeof (p as Body).text === 'string')) content = content.map((p) => (p as Body).text).join('');
    if (typeof content !== 'string') throw new ApiError(400, `'messages[${i}].content' must be a string, got ${JSON.stringify(content)?.slice(0, 80)}`, `messages[${i}].content`, 'invalid_type');
    return { role: role === 'developer' ? 'system' : role, content };
  });
  if (messages[messages.length - 1]!.role === 'assistant') throw new ApiError(400, "the last message must not be the assistant's", 'messages', 'invalid_value');
  return { ...sampling(body, limits, 256), messages };
}
