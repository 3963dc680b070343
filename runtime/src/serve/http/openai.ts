// Parsing and validating the public OpenAI requests (/v1/completions, /v1/chat/completions) into one shape the router
// serves. Every rejection is a 400 naming the field. Fields that would change the answer in ways this server does not
// implement (logprobs, echo, suffix, best_of, penalties, logit_bias, tools) are refused unless they hold their
// neutral value, so a client never silently gets something other than what it asked for.
import { randomInt } from 'node:crypto';
import { invalidField } from './errors.js';
import { renderChat, type ChatMessage, type ChatRole } from '../../data/chat-template.js';

export type ApiKind = 'completion' | 'chat';

export interface PublicRequest {
  kind: ApiKind;
  model: string;
  /** The prompt text (chat: the rendered template) or token ids given directly. */
  prompt: string | number[];
  maxTokens: number;
  temperature: number;
  topP: number;
  seed: number;
  stop: string[];
  stream: boolean;
  includeUsage: boolean;
}

/** max_tokens when a request gives none: OpenAI's 16 for completions; chat has no OpenAI number we can use. */
export const DEFAULT_MAX_TOKENS: Record<ApiKind, number> = { completion: 16, chat: 256 };
const MAX_STOPS = 4;

type Body = Record<string, unknown>;

function isObject(v: unknown): v is Body {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

function optInt(b: Body, field: string, min: number, fallback: number): number {
  const v = b[field];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw invalidField(field, `${field} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  return v;
}

function optNum(b: Body, field: string, lo: number, hi: number, loOpen: boolean, fallback: number): number {
  const v = b[field];
  if (v === undefined || v === null) return fallback;
  const ok = typeof v === 'number' && Number.isFinite(v) && (loOpen ? v > lo : v >= lo) && v <= hi;
  if (!ok) throw invalidField(field, `${field} must be a number in ${loOpen ? '(' : '['}${lo}, ${hi}], got ${JSON.stringify(v)}`);
  return v as number;
}

function optBool(b: Body, field: string): boolean {
  const v = b[field];
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw invalidField(field, `${field} must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

/** Fields accepted only at their neutral value. */
function refuseUnsupported(b: Body, neutral: Record<string, (v: unknown) => boolean>): void {
  for (const [field, ok] of Object.entries(neutral)) {
    const v = b[field];
    if (v !== undefined && v !== null && !ok(v)) throw invalidField(field, `${field} is not supported by this server; omit it`);
  }
}

const zero = (v: unknown): boolean => v === 0;
const no = (v: unknown): boolean => v === false;
const emptyObject = (v: unknown): boolean => isObject(v) && Object.keys(v).length === 0;

function parseStop(b: Body): string[] {
  const v = b.stop;
  if (v === undefined || v === null) return [];
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || list.length > MAX_STOPS || list.some((s) => typeof s !== 'string' || s === '')) {
    throw invalidField('stop', `stop must be a non-empty string or an array of at most ${MAX_STOPS} non-empty strings, got ${JSON.stringify(v)}`);
  }
  return list as string[];
}

function parseSeed(b: Body): number {
  const v = b.seed;
  if (v === undefined || v === null) return randomInt(0, 2 ** 32 - 1);
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw invalidField('seed', `seed must be an integer, got ${JSON.stringify(v)}`);
  // The engine's streams take 32-bit seeds; OpenAI allows any 64-bit integer (negative too).
  return ((v % 2 ** 32) + 2 ** 32) % 2 ** 32;
}

function common(b: Body, kind: ApiKind): Omit<PublicRequest, 'prompt' | 'kind'> {
  if (typeof b.model !== 'string' || b.model === '') throw invalidField('model', 'model must be the name of a served model (GET /v1/models lists it)');
  const n = b.n;
  if (n !== undefined && n !== null && n !== 1) throw invalidField('n', `n must be 1 (one choice per request), got ${JSON.stringify(n)}`);
  if (b.user !== undefined && b.user !== null && typeof b.user !== 'string') throw invalidField('user', 'user must be a string');
  refuseUnsupported(b, { presence_penalty: zero, frequency_penalty: zero, logit_bias: emptyObject });
  const stream = optBool(b, 'stream');
  let includeUsage = false;
  const so = b.stream_options;
  if (so !== undefined && so !== null) {
    if (!stream) throw invalidField('stream_options', 'stream_options is only allowed when stream is true');
    if (!isObject(so)) throw invalidField('stream_options', 'stream_options must be an object {include_usage}');
    includeUsage = optBool(so, 'include_usage');
  }
  const fallback = DEFAULT_MAX_TOKENS[kind];
  const maxTokens = kind === 'chat' && b.max_completion_tokens !== undefined && b.max_completion_tokens !== null
    ? optInt(b, 'max_completion_tokens', 1, fallback)
    : optInt(b, 'max_tokens', 1, fallback);
  return {
    model: b.model,
    maxTokens,
    temperature: optNum(b, 'temperature', 0, 2, false, 1),
    topP: optNum(b, 'top_p', 0, 1, true, 1),
    seed: parseSeed(b),
    stop: parseStop(b),
    stream,
    includeUsage,
  };
}

export function parseCompletionRequest(body: unknown): PublicRequest {
  if (!isObject(body)) throw invalidField('body', 'the body must be a JSON object');
  refuseUnsupported(body, { logprobs: (v) => v === 0 || v === false, echo: no, suffix: (v) => v === '', best_of: (v) => v === 1 });
  const base = common(body, 'completion');
  let p = body.prompt;
  if (Array.isArray(p) && p.length === 1 && typeof p[0] === 'string') p = p[0];
  let prompt: string | number[];
  if (typeof p === 'string' && p !== '') prompt = p;
  else if (Array.isArray(p) && p.length > 0 && p.every((t) => typeof t === 'number' && Number.isInteger(t) && t >= 0)) prompt = p as number[];
  else throw invalidField('prompt', 'prompt must be a non-empty string, an array of one string, or an array of token ids (one prompt per request)');
  return { kind: 'completion', ...base, prompt };
}

const ROLES: readonly ChatRole[] = ['system', 'user', 'assistant'];

function messageText(content: unknown, field: string): string {
  if (typeof content === 'string') return content;
  // The array form: text parts only.
  if (Array.isArray(content) && content.every((c) => isObject(c) && c.type === 'text' && typeof c.text === 'string')) {
    return content.map((c) => (c as { text: string }).text).join('');
  }
  throw invalidField(field, `${field} must be a string or an array of {"type": "text", "text": ...} parts`);
}

export function parseChatRequest(body: unknown): PublicRequest {
  if (!isObject(body)) throw invalidField('body', 'the body must be a JSON object');
  refuseUnsupported(body, { logprobs: no, top_logprobs: zero, tools: (v) => Array.isArray(v) && v.length === 0, tool_choice: (v) => v === 'none', functions: (v) => Array.isArray(v) && v.length === 0,
    response_format: (v) => isObject(v) && v.type === 'text' });
  const base = common(body, 'chat');
  const msgs = body.messages;
  if (!Array.isArray(msgs) || msgs.length === 0) throw invalidField('messages', 'messages must be a non-empty array of {role, content}');
  const messages: ChatMessage[] = msgs.map((m, i) => {
    if (!isObject(m)) throw invalidField(`messages[${i}]`, `messages[${i}] must be an object {role, content}`);
    if (!ROLES.includes(m.role as ChatRole)) throw invalidField(`messages[${i}].role`, `messages[${i}].role must be one of ${ROLES.join(', ')}, got ${JSON.stringify(m.role)}`);
    return { role: m.role as ChatRole, content: messageText(m.content, `messages[${i}].content`) };
  });
  return { kind: 'chat', ...base, prompt: renderChat(messages) };
}
