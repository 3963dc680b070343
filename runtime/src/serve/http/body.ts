// Reading a request body with a size limit: over the limit is a 413 without buffering the rest; bad JSON is a 400.
import type { IncomingMessage } from 'node:http';
import { ApiError, tooLarge } from './errors.js';

export const DEFAULT_BODY_LIMIT = 1 << 20;

export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > limit) return reject(tooLarge(limit));
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(tooLarge(limit));
        return;
      }
      parts.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

export async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const buf = await readBody(req, limit);
  if (buf.length === 0) throw new ApiError(400, 'the request body is empty; send a JSON object', 'invalid_request_error', null, 'invalid_json');
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch (e) {
    throw new ApiError(400, `the request body is not valid JSON (${(e as Error).message})`, 'invalid_request_error', null, 'invalid_json');
  }
}
