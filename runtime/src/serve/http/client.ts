// The internal protocol's client side (router → decode, decode → prefill) on node:http with keep-alive. A connect
// timeout bounds reaching the peer and one socket inactivity timeout every later wait (the head and each chunk), so a
// peer that hangs or dies never leaves the caller waiting forever; the caller's AbortSignal tears the request down
// (the peer sees the disconnect and aborts).
import { Agent, request, type IncomingMessage } from 'node:http';

export const keepAliveAgent = new Agent({ keepAlive: true, maxSockets: 1024 });

/** The peer could not be reached or dropped the connection before answering (safe to try another replica). */
export class ConnectError extends Error {
  constructor(readonly url: string, override readonly cause: Error) {
    super(`cannot reach ${url}: ${cause.message}`);
    this.name = 'ConnectError';
  }
}

/** A deleted pod's IP drops SYNs: node:http's socket timeout starts only once connected, so without this limit a
 *  request to a replica that just died waits for the kernel's SYN retries (about 2 min on Linux) before failing over. */
export const CONNECT_TIMEOUT_MS = 5000;

export interface PostOptions {
  signal?: AbortSignal;
  /** Socket inactivity limit in ms (head and body). */
  idleTimeoutMs: number;
  /** Limit on connecting a new socket (default CONNECT_TIMEOUT_MS). */
  connectTimeoutMs?: number;
  agent?: Agent;
}

/** POSTs JSON; resolves with the response once its head has arrived; rejects with ConnectError before that. */
export async function postJson(url: string, body: unknown, opts: PostOptions): Promise<IncomingMessage> {
  const payload = Buffer.from(JSON.stringify(body));
  // A pooled keep-alive socket the peer closed a moment ago fails at once; that says nothing about the peer, so the
  // request is sent again (on a fresh socket once the pool is drained) instead of failing over.
  for (let attempt = 0; ; attempt++) {
    try {
      return await postOnce(url, payload, opts);
    } catch (e) {
      if (!(e instanceof StaleSocketError) || attempt >= 3) throw e instanceof StaleSocketError ? new ConnectError(url, e.cause) : e;
    }
  }
}

class StaleSocketError extends Error {
  constructor(override readonly cause: Error) {
    super(cause.message);
  }
}

function postOnce(url: string, payload: Buffer, opts: PostOptions): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) return reject(opts.signal.reason as Error);
    const req = request(url, {
      method: 'POST', agent: opts.agent ?? keepAliveAgent, signal: opts.signal,
      headers: { 'content-type': 'application/json', 'content-length': payload.length },
    });
    req.setTimeout(opts.idleTimeoutMs, () => req.destroy(new Error(`no answer from ${url} within ${opts.idleTimeoutMs} ms`)));
    req.on('socket', (sock) => {
      if (!sock.connecting) return; // a pooled keep-alive socket
      const ms = opts.connectTimeoutMs ?? CONNECT_TIMEOUT_MS;
      const timer = setTimeout(() => req.destroy(new Error(`no connection to ${url} within ${ms} ms`)), ms);
      sock.once('connect', () => clearTimeout(timer));
      sock.once('close', () => clearTimeout(timer));
    });
    req.on('response', resolve);
    req.on('error', (e: NodeJS.ErrnoException) => {
      if (opts.signal?.aborted) return reject(e);
      if (req.reusedSocket && (e.code === 'ECONNRESET' || e.code === 'EPIPE')) return reject(new StaleSocketError(e));
      reject(new ConnectError(url, e));
    });
    req.end(payload);
  });
}

export async function readAll(res: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of res) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** The parsed `{"error": {...}}` body of a non-200 answer, if it is one. */
export async function errorOf(res: IncomingMessage): Promise<{ message: string; type?: string; param?: string | null; code?: string | null } | undefined> {
  try {
    const j = JSON.parse((await readAll(res)).toString('utf8')) as { error?: { message?: unknown } };
    if (j.error && typeof j.error.message === 'string') return j.error as { message: string };
  } catch {
    // Not JSON: the caller reports the status alone.
  }
  return undefined;
}

export function retryAfterOf(res: IncomingMessage): number {
  const v = Number(res.headers['retry-after']);
  return Number.isFinite(v) && v > 0 ? v : 1;
}

/** NDJSON lines of a response body, parsed; ends when the body ends, throws if it breaks off. */
export async function* ndjson(res: IncomingMessage): AsyncGenerator<unknown> {
  let buf = '';
  res.setEncoding('utf8');
  for await (const chunk of res) {
    buf += chunk as string;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (line) yield JSON.parse(line);
    }
  }
  if (buf.trim()) yield JSON.parse(buf);
}
