// OpenAI-style errors: `{"error": {"message", "type", "param", "code"}}` with the HTTP status that goes with them.
// Every failure the HTTP layer answers is an ApiError, so clients written against OpenAI parse ours unchanged.
import type { ServerResponse } from 'node:http';

export class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly type: string, readonly param: string | null = null,
    readonly code: string | null = null, readonly retryAfterSeconds?: number) {
    super(message);
    this.name = 'ApiError';
  }

  body(): { error: { message: string; type: string; param: string | null; code: string | null } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** 400 for a field the client got wrong; the message names the field and what it accepts. */
export const invalidField = (param: string, message: string): ApiError => new ApiError(400, message, 'invalid_request_error', param, 'invalid_value');
export const notFound = (message: string, code = 'not_found', param: string | null = null): ApiError => new ApiError(404, message, 'invalid_request_error', param, code);
export const methodNotAllowed = (method: string, path: string): ApiError => new ApiError(405, `${method} is not allowed on ${path}`, 'invalid_request_error', null, 'method_not_allowed');
export const tooLarge = (limit: number): ApiError => new ApiError(413, `the request body is larger than ${limit} bytes`, 'invalid_request_error', null, 'request_too_large');
export const overloaded = (retryAfterSeconds: number, message = 'the server is at capacity; retry later'): ApiError =>
  new ApiError(429, message, 'rate_limit_error', null, 'rate_limit_exceeded', retryAfterSeconds);
export const upstreamFailed = (message: string): ApiError => new ApiError(502, message, 'server_error', null, 'upstream_error');
export const unavailable = (message: string): ApiError => new ApiError(503, message, 'server_error', null, 'service_unavailable');
export const internal = (message: string): ApiError => new ApiError(500, message, 'server_error', null, 'internal_error');

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) return void res.end();
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendError(res: ServerResponse, e: ApiError, extraHeaders: Record<string, string> = {}): void {
  const headers: Record<string, string> = { ...extraHeaders };
  if (e.retryAfterSeconds !== undefined) headers['retry-after'] = String(Math.max(1, Math.ceil(e.retryAfterSeconds)));
  sendJson(res, e.status, e.body(), headers);
}

/** Anything thrown while handling a request, as an ApiError (unknown errors are 500s with their message). */
export function asApiError(e: unknown): ApiError {
  return e instanceof ApiError ? e : internal((e as Error)?.message ?? String(e));
}
