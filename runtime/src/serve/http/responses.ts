// The two ways a router answers an OpenAI request: server-sent events (`data: {chunk}\n\n` ... `data: [DONE]\n\n`,
// chunk objects `text_completion` with `choices[0].text` or `chat.completion.chunk` with `choices[0].delta`, as
// OpenAI sends them) or one JSON body with `usage` at the end. Both take text pieces, then a finish or an error.
// When the request asked for log-probabilities, each piece comes with the entries of the tokens it completes
// (logprob-format.ts) and every chunk carries those of its own tokens; otherwise `logprobs` is null.
import type { ServerResponse } from 'node:http';
import type { FinishReason } from '../engine/types.js';
import { sendError, sendJson, type ApiError } from './errors.js';
import type { ApiKind } from './openai.js';
import type { LogprobEntry, LogprobFormatter } from './logprob-format.js';

export interface OpenAIUsage { prompt_tokens: number; completion_tokens: number; total_tokens: number }

export interface ResponseSink {
  /** A piece of text and the log-probability entries of the tokens that arrived with it (when asked for). */
  text(t: string, logprobs?: LogprobEntry[]): void;
  finish(reason: FinishReason, usage: OpenAIUsage, logprobs?: LogprobEntry[]): void;
  /** After the answer has started: the stream ends with an error event; before: an error status. */
  fail(e: ApiError): void;
}

export interface ResponseMeta {
  kind: ApiKind;
  id: string;
  model: string;
  created: number;
  /** Present when the request asked for log-probabilities. */
  logprobs?: LogprobFormatter;
}

function formatLogprobs(meta: ResponseMeta, entries: readonly LogprobEntry[] | undefined, always: boolean): unknown {
  const f = meta.logprobs;
  if (!f || (!always && !entries?.length)) return null;
  return meta.kind === 'chat' ? f.chat(entries ?? []) : f.completion(entries ?? []);
}

export function usageOf(promptTokens: number, completionTokens: number): OpenAIUsage {
  return { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
}

export class SseSink implements ResponseSink {
  private started = false;

  constructor(private readonly res: ServerResponse, private readonly meta: ResponseMeta, private readonly includeUsage: boolean) {}

  private chunk(choice: Record<string, unknown> | undefined, usage?: OpenAIUsage): void {
    const { kind, id, model, created } = this.meta;
    const body: Record<string, unknown> = { id, object: kind === 'chat' ? 'chat.completion.chunk' : 'text_completion', created, model, choices: choice ? [choice] : [] };
    if (this.includeUsage) body.usage = usage ?? null;
    this.res.write(`data: ${JSON.stringify(body)}\n\n`);
  }

  private choice(piece: string | undefined, finish: FinishReason | null, entries?: LogprobEntry[]): Record<string, unknown> {
    const logprobs = formatLogprobs(this.meta, entries, false);
    if (this.meta.kind === 'chat') return { index: 0, delta: piece === undefined ? {} : { content: piece }, logprobs, finish_reason: finish };
    return { index: 0, text: piece ?? '', logprobs, finish_reason: finish };
  }

  private start(): void {
    if (this.started) return;
    this.started = true;
    this.res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    // Chat streams open with the assistant's role, as OpenAI's do.
    if (this.meta.kind === 'chat') this.chunk({ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null });
  }

  /** Sends the head (and the chat role chunk) before the first text. */
  open(): void {
    this.start();
  }

  text(t: string, logprobs?: LogprobEntry[]): void {
    this.start();
    if (t || logprobs?.length) this.chunk(this.choice(t, null, logprobs));
  }

  finish(reason: FinishReason, usage: OpenAIUsage, logprobs?: LogprobEntry[]): void {
    this.start();
    this.chunk(this.choice(undefined, reason, logprobs));
    if (this.includeUsage) this.chunk(undefined, usage);
    this.res.end('data: [DONE]\n\n');
  }

  fail(e: ApiError): void {
    if (!this.started) return sendError(this.res, e);
    this.res.end(`data: ${JSON.stringify(e.body())}\n\n`);
  }
}

export class JsonSink implements ResponseSink {
  private readonly parts: string[] = [];
  private readonly entries: LogprobEntry[] = [];

  constructor(private readonly res: ServerResponse, private readonly meta: ResponseMeta) {}

  text(t: string, logprobs?: LogprobEntry[]): void {
    this.parts.push(t);
    if (logprobs) this.entries.push(...logprobs);
  }

  finish(reason: FinishReason, usage: OpenAIUsage, logprobs?: LogprobEntry[]): void {
    const { kind, id, model, created } = this.meta;
    const text = this.parts.join('');
    if (logprobs) this.entries.push(...logprobs);
    const lp = formatLogprobs(this.meta, this.entries, true);
    const choice = kind === 'chat'
      ? { index: 0, message: { role: 'assistant', content: text }, logprobs: lp, finish_reason: reason }
      : { index: 0, text, logprobs: lp, finish_reason: reason };
    sendJson(this.res, 200, { id, object: kind === 'chat' ? 'chat.completion' : 'text_completion', created, model, choices: [choice], usage });
  }

  fail(e: ApiError): void {
    sendError(this.res, e);
  }
}
