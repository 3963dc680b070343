// Parsing and validating the public OpenAI requests (/v1/completions, /v1/chat/completions) into one shape the router
// serves. Every rejection is a 400 naming the field. Fields that would change the answer in ways this server does not
// implement (suffix, best_of, penalties, logit_bias, tools) are refused unless they hold their neutral value, so a
// client never silently gets something other than what it asked for.
// Log-probabilities (what evaluation tools such as lm-evaluation-harness drive):
//   completions: `logprobs` k in [0, 20] (vLLM's limit; OpenAI's is 5): per token the chosen token's log-probability
//   and the k most likely alternatives; `echo`: the prompt comes back in the text, and with logprobs its tokens with
//   theirs (the first token's is null); `max_tokens: 0` (only with echo) scores the prompt and generates nothing.
//   chat: `logprobs: true` with `top_logprobs` in [0, 20]. `logprobs: false` (and, for chat, no `logprobs`) is none.
import { randomInt } from 'node:crypto';
import { invalidField } from './errors.js';
import { renderChat, type ChatMessage, type ChatRole } from '../../data/chat-template.js';
import { MAX_TOP_LOGPROBS } from '../engine/logprobs.js';

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
  /** Alternatives per token when log-probabilities are asked for; undefined = none. */
  logprobs?: number;
  /** Completions: the prompt comes back before the completion. */
  echo: boolean;
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

/** An integer in [0, MAX_TOP_LOGPROBS]. */
function topK(b: Body, field: string): number {
  const v = b[field];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_TOP_LOGPROBS) throw invalidField(field, `${field} must be an integer in [0, ${MAX_TOP_LOGPROBS}] (alternatives per token), got ${JSON.stringify(v)}`);
  return v;
}

function common(b: Body, kind: ApiKind, minMaxTokens = 1): Omit<PublicRequest, 'prompt' | 'kind' | 'logprobs' | 'echo'> {
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
    : optInt(b, 'max_tokens', minMaxTokens, fallback);
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
  refuseUnsupported(body, { suffix: (v) => v === '', best_of: (v) => v === 1 });
  const echo = optBool(body, 'echo');
  const logprobs = body.logprobs === undefined || body.logprobs === null || body.logprobs === false ? undefined : topK(body, 'logprobs');
  const base = common(body, 'completion', 0);
  if (base.maxTokens === 0 && !echo) throw invalidField('max_tokens', 'max_tokens 0 generates nothing; it is allowed only with echo: true (to score the prompt)');
  let p = body.prompt;
  // One prompt per request, as a string or token ids, possibly inside a batch of one (lm-evaluation-harness sends [[ids]]).
  if (Array.isArray(p) && p.length === 1 && (typeof p[0] === 'string' || Array.isArray(p[0]))) p = p[0];
  let prompt: string | number[];
  if (typeof p === 'string' && p !== '') prompt = p;
  else if (Array.isArray(p) && p.length > 0 && p.every((t) => typeof t === 'number' && Number.isInteger(t) && t >= 0)) prompt = p as number[];
  else throw invalidField('prompt', 'prompt must be a non-empty string, an array of one string, or an array of token ids (one prompt per request)');
  return { kind: 'completion', ...base, prompt, logprobs, echo };
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
  refuseUnsupported(body, { tools: (v) => Array.isArray(v) && v.length === 0, tool_choice: (v) => v === 'none', functions: (v) => Array.isArray(v) && v.length === 0,
    response_format: (v) => isObject(v) && v.type === 'text' });
  const wantLogprobs = optBool(body, 'logprobs');
  const hasTop = body.top_logprobs !== undefined && body.top_logprobs !== null;
  const top = hasTop ? topK(body, 'top_logprobs') : 0;
  if (top > 0 && !wantLogprobs) throw invalidField('top_logprobs', 'top_logprobs needs logprobs: true');
  const base = common(body, 'chat');
  const msgs = body.messages;
  if (!Array.isArray(msgs) || msgs.length === 0) throw invalidField('messages', 'messages must be a non-empty array of {role, content}');
  const messages: ChatMessage[] = msgs.map((m, i) => {
    if (!isObject(m)) throw invalidField(`messages[${i}]`, `messages[${i}] must be an object {role, content}`);
    if (!ROLES.includes(m.role as ChatRole)) throw invalidField(`messages[${i}].role`, `messages[${i}].role must be one of ${ROLES.join(', ')}, got ${JSON.stringify(m.role)}`);
    return { role: m.role as ChatRole, content: messageText(m.content, `messages[${i}].content`) };
  });
  return { kind: 'chat', ...base, prompt: renderChat(messages), logprobs: wantLogprobs ? top : undefined, echo: false };
}
