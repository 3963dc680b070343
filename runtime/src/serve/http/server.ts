// The HTTP server every serving role shares: a method+path table, `/healthz`, `/readyz`, `/metrics`, OpenAI-style 404
// and 405, a per-endpoint request counter, and graceful shutdown (stop accepting, let requests in flight finish within
// a grace period, then close what is left).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiError, asApiError, methodNotAllowed, notFound, sendError, sendJson, unavailable } from './errors.js';
import type { ServeMetrics } from './metrics.js';

export type Handler = (req: IncomingMessage, res: ServerResponse, signal: AbortSignal) => Promise<void>;
export type Log = (entry: Record<string, unknown>) => void;

export interface ServerBaseOptions {
  metrics: ServeMetrics;
  /** Routes: `"POST /v1/completions"` → handler. */
  routes: Record<string, Handler>;
  /** undefined = ready; otherwise why not. */
  notReady: () => string | undefined;
  log: Log;
}

export class HttpServer {
  readonly server: Server;
  private inFlight = 0;
  private draining = false;
  private idle: (() => void)[] = [];
  private readonly paths: Map<string, Map<string, Handler>>;

  constructor(private readonly opts: ServerBaseOptions) {
    this.paths = new Map();
    for (const [key, h] of Object.entries(opts.routes)) {
      const [method, path] = key.split(' ');
      if (!this.paths.has(path)) this.paths.set(path, new Map());
      this.paths.get(path)!.set(method, h);
    }
    this.server = createServer((req, res) => void this.handle(req, res));
    // Streams can be long; the router and role servers bound their own waits.
    this.server.requestTimeout = 0;
    this.server.headersTimeout = 30_000;
  }

  get requestsInFlight(): number {
    return this.inFlight;
  }

  async listen(port: number, host: string): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return this.server.address() as AddressInfo;
  }

  /** The `http://host:port` others reach this server at. */
  url(): string {
    const a = this.server.address() as AddressInfo;
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return `http://${host}:${a.port}`;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    const method = req.method ?? 'GET';
    const m = this.opts.metrics;
    // Counted on close, so a stream the client abandoned counts too (code "incomplete").
    res.on('close', () => m.requests.inc({
      endpoint: this.paths.has(path) || ['/healthz', '/readyz', '/metrics'].includes(path) ? path : 'other',
      code: res.writableFinished ? String(res.statusCode) : 'incomplete',
    }));
    try {
      if (path === '/healthz' && method === 'GET') return sendJson(res, 200, { status: 'ok' });
      if (path === '/readyz' && method === 'GET') {
        const why = this.draining ? 'shutting down' : this.opts.notReady();
        return why ? sendError(res, unavailable(why)) : sendJson(res, 200, { status: 'ready' });
      }
      if (path === '/metrics' && method === 'GET') {
        const text = await m.registry.metrics();
        res.writeHead(200, { 'content-type': m.registry.contentType }).end(text);
        return;
      }
      const byMethod = this.paths.get(path);
      if (!byMethod) throw notFound(`no such path: ${path}`);
      const h = byMethod.get(method);
      if (!h) {
        res.setHeader('allow', [...byMethod.keys()].join(', '));
        throw methodNotAllowed(method, path);
      }
      if (this.draining) throw unavailable('the server is shutting down');
      await this.track(req, res, h);
    } catch (e) {
      const err = asApiError(e);
      if (err.status >= 500 && !(e instanceof ApiError)) this.opts.log({ level: 'error', msg: 'request failed', path, error: err.message });
      if (!res.headersSent) sendError(res, err);
      else res.end();
    }
  }

  /** Counts the request in flight and aborts its signal when the client goes away before the answer is complete. */
  private async track(req: IncomingMessage, res: ServerResponse, h: Handler): Promise<void> {
    const ac = new AbortController();
    const onClose = (): void => {
      if (!res.writableFinished) ac.abort(new Error('the client disconnected'));
    };
    res.on('close', onClose);
    this.inFlight++;
    try {
      await h(req, res, ac.signal);
    } finally {
      res.off('close', onClose);
      this.inFlight--;
      if (this.inFlight === 0) for (const f of this.idle.splice(0)) f();
    }
  }

  /** Stops accepting; resolves once every request in flight has finished or `graceMs` has passed (then cuts them). */
  async shutdown(graceMs: number): Promise<{ cut: number }> {
    this.draining = true;
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    this.server.closeIdleConnections();
    let cut = 0;
    if (this.inFlight > 0) {
      const drained = new Promise<void>((r) => this.idle.push(r));
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((r) => { timer = setTimeout(() => r('late'), graceMs); });
      if ((await Promise.race([drained, late])) === 'late') cut = this.inFlight;
      clearTimeout(timer);
    }
    this.server.closeAllConnections();
    await closed;
    return { cut };
  }

  /** Drops every connection at once, as a crashed pod would (tests). */
  kill(): void {
    this.draining = true;
    this.server.close();
    this.server.closeAllConnections();
  }
}
