// Engine rejections as HTTP errors: a full queue is a 429 with Retry-After, a request the model cannot take is a 400.
import { BadRequestError, QueueFullError } from '../engine/types.js';
import { ApiError, internal, invalidField, overloaded } from './errors.js';

export function engineError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (e instanceof QueueFullError) return overloaded(e.retryAfterSeconds, e.message);
  if (e instanceof BadRequestError) return invalidField(e.param, e.message);
  return internal(`the engine failed: ${(e as Error)?.message ?? String(e)}`);
}
