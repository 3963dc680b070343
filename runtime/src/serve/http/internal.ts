// The internal protocol's bodies (../README.md "Internal protocol"): what the router sends to decode and decode
// sends to prefill, checked field by field on arrival so a bad body is a 400 naming the field, never a crash.
import { MAX_TOP_LOGPROBS } from '../engine/logprobs.js';
import type { FinishReason, LogprobRequest, SamplingParams, TokenLogprob } from '../engine/types.js';
import { invalidField } from './errors.js';

export const GENERATE_PATH = '/internal/v1/generate';
export const PREFILL_PATH = '/internal/v1/prefill';

export interface InternalRequest {
  id: string;
  promptIds: number[];
  params: SamplingParams;
  /** Log-probabilities to return ({topK, prompt}); absent = none. */
  logprobs?: LogprobRequest;
  /** Prefill only: also hand over the MTP drafter's state (a decode pod that drafts asks for it). */
  mtp?: boolean;
  /** Generate only: base URL of a prefill leader (`http://host:port`); decode posts to `${prefillUrl}/internal/v1/prefill`. */
  prefillUrl?: string;
}

/** One NDJSON line of a generate answer. */
export type GenerateEvent =
  | { token: number; logprob?: TokenLogprob }
  /** With logprobs.prompt, once before the first token: prompt tokens 1..n-1. */
  | { prompt: TokenLogprob[] }
  | { finish: FinishReason; usage: { promptTokens: number; completionTokens: number } }
  | { error: { message: string; type: string } };

function int(v: unknown, field: string, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw invalidField(field, `${field} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  return v;
}

function num(v: unknown, field: string, ok: (x: number) => boolean, range: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw invalidField(field, `${field} must be a number in ${range}, got ${JSON.stringify(v)}`);
  return v;
}

/** maxTokens may be 0 only when the prompt is scored (`scoring`: logprobs.prompt). */
export function parseSamplingParams(v: unknown, field = 'params', scoring = false): SamplingParams {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw invalidField(field, `${field} must be an object {maxTokens, temperature, topP, seed, stopTokenIds}`);
  const p = v as Record<string, unknown>;
  const stop = p.stopTokenIds ?? [];
  if (!Array.isArray(stop)) throw invalidField(`${field}.stopTokenIds`, `${field}.stopTokenIds must be an array of token ids`);
  return {
    maxTokens: int(p.maxTokens, `${field}.maxTokens`, scoring ? 0 : 1),
    temperature: num(p.temperature, `${field}.temperature`, (x) => x >= 0, '[0, ∞)'),
    topP: num(p.topP, `${field}.topP`, (x) => x > 0 && x <= 1, '(0, 1]'),
    seed: int(p.seed, `${field}.seed`, 0),
    stopTokenIds: stop.map((t, i) => int(t, `${field}.stopTokenIds[${i}]`, 0)),
  };
}

export function parseInternalRequest(v: unknown, withPrefillUrl: boolean): InternalRequest {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw invalidField('body', 'the body must be a JSON object {id, promptIds, params}');
  const b = v as Record<string, unknown>;
  if (typeof b.id !== 'string' || b.id === '') throw invalidField('id', 'id must be a non-empty string');
  if (!Array.isArray(b.promptIds) || b.promptIds.length === 0) throw invalidField('promptIds', 'promptIds must be a non-empty array of token ids');
  const promptIds = b.promptIds.map((t, i) => int(t, `promptIds[${i}]`, 0));
  const logprobs = parseLogprobRequest(b.logprobs);
  const out: InternalRequest = { id: b.id, promptIds, params: parseSamplingParams(b.params, 'params', logprobs?.prompt ?? false) };
  if (logprobs) out.logprobs = logprobs;
  if (b.mtp !== undefined) {
    if (typeof b.mtp !== 'boolean') throw invalidField('mtp', `mtp must be true or false, got ${JSON.stringify(b.mtp)}`);
    if (!withPrefillUrl) out.mtp = b.mtp;
  }
  if (withPrefillUrl && b.prefillUrl !== undefined) {
    if (typeof b.prefillUrl !== 'string' || !/^https?:\/\/[^/]+/.test(b.prefillUrl)) throw invalidField('prefillUrl', `prefillUrl must be an http(s) base URL, got ${JSON.stringify(b.prefillUrl)}`);
    out.prefillUrl = b.prefillUrl.replace(/\/+$/, '');
  }
  return out;
}

function parseLogprobRequest(v: unknown): LogprobRequest | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw invalidField('logprobs', 'logprobs must be an object {topK, prompt}');
  const o = v as Record<string, unknown>;
  const topK = int(o.topK, 'logprobs.topK', 0);
  if (topK > MAX_TOP_LOGPROBS) throw invalidField('logprobs.topK', `logprobs.topK must be at most ${MAX_TOP_LOGPROBS}, got ${topK}`);
  if (typeof o.prompt !== 'boolean') throw invalidField('logprobs.prompt', `logprobs.prompt must be true or false, got ${JSON.stringify(o.prompt)}`);
  return { topK, prompt: o.prompt };
}
