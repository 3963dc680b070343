// The rendezvous key-value store that rank 0 serves at MASTER_ADDR:MASTER_PORT (I/O code; wire format in
// rendezvous-protocol.ts). Besides keys it keeps one lifeline per rank: a rank whose connection closes without a 'bye',
// or whose heartbeats stop for `stallMs`, aborts the job, and every rank watching learns which rank was lost.
import net from 'node:net';
import {
  Op, Status, encodeReply, parseGetBody, parseHelloBody, parseSetBody, requestReader, type Request,
} from './rendezvous-protocol.js';

export interface StoreServerOptions {
  /** Address to listen on: the pod's own (peers reach it through the headless Service's per-pod name). */
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  worldSize: number;
  /** A hello'd rank silent for this long is declared stalled. */
  stallMs: number;
}

interface Conn { socket: net.Socket; rank?: number; bye: boolean }
interface RankState { conn: Conn; lastSeen: number; bye: boolean }

export class StoreServer {
  private readonly kv = new Map<string, Buffer>();
  private readonly waiters = new Map<string, Set<(v: Buffer) => void>>();
  private readonly ranks = new Map<number, RankState>();
  private readonly watchers: Array<{ conn: Conn; id: number }> = [];
  private readonly conns = new Set<Conn>();
  private abortMessage: string | undefined;
  private readonly abortListeners: Array<(msg: string) => void> = [];
  private timer: NodeJS.Timeout | undefined;

  private constructor(private readonly server: net.Server, readonly opts: StoreServerOptions, readonly port: number) {}

  static async start(opts: StoreServerOptions): Promise<StoreServer> {
    if (!Number.isInteger(opts.worldSize) || opts.worldSize < 1) {
      throw new Error(`store server: worldSize must be a positive integer, got ${opts.worldSize}`);
    }
    if (!(opts.stallMs > 0)) throw new Error(`store server: stallMs must be positive, got ${opts.stallMs}`);
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) =>
        reject(new Error(`store server cannot listen on ${opts.host}:${opts.port}: ${e.message}`)));
      server.listen(opts.port, opts.host, () => resolve());
    });
    const port = (server.address() as net.AddressInfo).port;
    const s = new StoreServer(server, opts, port);
    server.on('connection', (sock) => s.accept(sock));
    s.timer = setInterval(() => s.checkStalls(), Math.max(50, Math.min(1000, opts.stallMs / 4)));
    s.timer.unref();
    return s;
  }

  /** Ranks that have said hello so far (tests and error messages). */
  arrived(): number[] {
    return [...this.ranks.keys()].sort((a, b) => a - b);
  }

  /** Ranks that never said hello. */
  missing(): number[] {
    const out: number[] = [];
    for (let r = 0; r < this.opts.worldSize; r++) if (!this.ranks.has(r)) out.push(r);
    return out;
  }

  aborted(): string | undefined {
    return this.abortMessage;
  }

  onAbort(fn: (msg: string) => void): void {
    if (this.abortMessage !== undefined) fn(this.abortMessage);
    else this.abortListeners.push(fn);
  }

  /** Records the first failure and tells every watcher; later calls keep the first message. */
  abort(message: string): void {
    if (this.abortMessage !== undefined) return;
    this.abortMessage = message;
    const body = Buffer.from(message, 'utf8');
    for (const w of this.watchers.splice(0)) this.reply(w.conn, w.id, Status.ok, body);
    for (const fn of this.abortListeners.splice(0)) fn(message);
  }

  /** Resolves once every rank has said bye (or the timeout passes: resolves false). */
  async waitForByes(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.ranks.size === this.opts.worldSize && [...this.ranks.values()].every((r) => r.bye)) return true;
      await new Promise((r) => setTimeout(r, 20));
    }
    return false;
  }

  /** Resolves once at most `keep` connections remain (the caller's own), or after timeoutMs. */
  async waitForDisconnects(timeoutMs: number, keep = 1): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && this.conns.size > keep) await new Promise((r) => setTimeout(r, 20));
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    for (const c of this.conns) c.socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    socket.setNoDelay(true);
    const conn: Conn = { socket, bye: false };
    this.conns.add(conn);
    const reader = requestReader();
    socket.on('data', (chunk) => {
      try {
        for (const req of reader.push(chunk)) this.handle(conn, req);
      } catch (e) {
        socket.destroy(e as Error);
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.conns.delete(conn);
      if (conn.rank !== undefined && !conn.bye) {
        this.abort(`rank ${conn.rank} lost: its connection to the store closed without saying goodbye (process exited or crashed)`);
      }
    });
  }

  private reply(conn: Conn, id: number, status: number, body: Buffer): void {
    if (!conn.socket.destroyed) conn.socket.write(encodeReply(id, status, body));
  }

  private handle(conn: Conn, req: Request): void {
    const { id } = req;
    if (conn.rank !== undefined) {
      const st = this.ranks.get(conn.rank);
      if (st) st.lastSeen = Date.now();
    }
    switch (req.op) {
      case Op.set: {
        const { key, value } = parseSetBody(req.body);
        this.kv.set(key, value);
        const ws = this.waiters.get(key);
        if (ws) {
          this.waiters.delete(key);
          for (const w of ws) w(value);
        }
        this.reply(conn, id, Status.ok, Buffer.alloc(0));
        return;
      }
      case Op.get: {
        const { key, timeoutMs } = parseGetBody(req.body);
        const v = this.kv.get(key);
        if (v) return this.reply(conn, id, Status.ok, v);
        let set = this.waiters.get(key);
        if (!set) this.waiters.set(key, (set = new Set()));
        const waiter = (value: Buffer): void => {
          clearTimeout(timer);
          this.reply(conn, id, Status.ok, value);
        };
        const timer = setTimeout(() => {
          set.delete(waiter);
          this.reply(conn, id, Status.timeout, Buffer.from(`key ${key} not set within ${timeoutMs}ms`));
        }, timeoutMs);
        set.add(waiter);
        return;
      }
      case Op.check: {
        const keys = req.body.length ? req.body.toString('utf8').split('\n') : [];
        return this.reply(conn, id, Status.ok, Buffer.from(keys.filter((k) => !this.kv.has(k)).join('\n'), 'utf8'));
      }
      case Op.hello: {
        const { rank, worldSize } = parseHelloBody(req.body);
        if (worldSize !== this.opts.worldSize || rank >= worldSize) {
          return this.reply(conn, id, Status.error, Buffer.from(
            `rank ${rank} of world ${worldSize} does not fit the store's world of ${this.opts.worldSize} ranks (check WORLD_SIZE)`));
        }
        const prev = this.ranks.get(rank);
        if (prev && !prev.bye && !prev.conn.socket.destroyed) {
          return this.reply(conn, id, Status.error, Buffer.from(`rank ${rank} is already connected (two pods with RANK=${rank}?)`));
        }
        conn.rank = rank;
        this.ranks.set(rank, { conn, lastSeen: Date.now(), bye: false });
        return this.reply(conn, id, Status.ok, Buffer.alloc(0));
      }
      case Op.ping:
        return this.reply(conn, id, Status.ok, Buffer.alloc(0));
      case Op.bye: {
        conn.bye = true;
        if (conn.rank !== undefined) {
          const st = this.ranks.get(conn.rank);
          if (st) st.bye = true;
        }
        return this.reply(conn, id, Status.ok, Buffer.alloc(0));
      }
      case Op.abort:
        this.abort(req.body.toString('utf8'));
        return this.reply(conn, id, Status.ok, Buffer.alloc(0));
      case Op.watch:
        if (this.abortMessage !== undefined) return this.reply(conn, id, Status.ok, Buffer.from(this.abortMessage));
        this.watchers.push({ conn, id });
        return;
      default:
        return this.reply(conn, id, Status.error, Buffer.from(`unknown op 0x${req.op.toString(16)}`));
    }
  }

  private checkStalls(): void {
    if (this.abortMessage !== undefined) return;
    const now = Date.now();
    for (const [rank, st] of this.ranks) {
      if (!st.bye && now - st.lastSeen > this.opts.stallMs) {
        this.abort(`rank ${rank} stalled: no heartbeat for ${now - st.lastSeen}ms (limit ${this.opts.stallMs}ms)`);
        return;
      }
    }
  }
}
