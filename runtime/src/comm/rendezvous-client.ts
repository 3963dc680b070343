// Client of the rendezvous store (I/O code). Requests carry ids, so a long 'watch' and heartbeats share one
// connection; that connection is also the rank's lifeline once it has said hello.
import net from 'node:net';
import {
  Op, Status, encodeRequest, getBody, helloBody, replyReader, setBody, type Reply,
} from './rendezvous-protocol.js';

export class StoreClosedError extends Error {}

export class StoreClient {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  private closedBy: Error | undefined;
  private readonly closeListeners: Array<(e: Error) => void> = [];
  private leaving = false;

  private constructor(private readonly socket: net.Socket, readonly address: string) {
    const reader = replyReader();
    socket.on('data', (chunk) => {
      for (const r of reader.push(chunk)) {
        const p = this.pending.get(r.id);
        if (p) {
          this.pending.delete(r.id);
          p.resolve(r);
        }
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closedBy = new StoreClosedError(`store at ${address} closed the connection (rank 0, which serves it, is lost)`);
      for (const p of this.pending.values()) p.reject(this.closedBy);
      this.pending.clear();
      if (!this.leaving) for (const fn of this.closeListeners) fn(this.closedBy);
    });
  }

  /** Connects, retrying until `timeoutMs` (rank 0 may start after the others). */
  static async connect(host: string, port: number, timeoutMs: number): Promise<StoreClient> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (true) {
      try {
        const socket = await new Promise<net.Socket>((resolve, reject) => {
          const s = net.connect({ host, port }, () => resolve(s));
          s.once('error', reject);
        });
        socket.setNoDelay(true);
        return new StoreClient(socket, `${host}:${port}`);
      } catch (e) {
        last = (e as Error).message;
      }
      if (Date.now() >= deadline) {
        throw new Error(`store at ${host}:${port} unreachable for ${timeoutMs}ms (${last}): is rank 0 running and MASTER_ADDR/MASTER_PORT right?`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Called when the connection drops before close(): the store's rank is gone. */
  onClose(fn: (e: Error) => void): void {
    this.closeListeners.push(fn);
  }

  private request(op: number, body: Buffer): Promise<Reply> {
    if (this.closedBy) return Promise.reject(this.closedBy);
    const id = this.nextId++ >>> 0;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.socket.write(encodeRequest(op, id, body));
    });
  }

  private async ok(op: number, body: Buffer, what: string): Promise<Buffer> {
    const r = await this.request(op, body);
    if (r.status !== Status.ok) throw new Error(`store ${what} at ${this.address}: ${r.body.toString('utf8')}`);
    return r.body;
  }

  async set(key: string, value: Buffer | string): Promise<void> {
    await this.ok(Op.set, setBody(key, Buffer.isBuffer(value) ? value : Buffer.from(value, 'utf8')), `set ${key}`);
  }

  /** The value, or undefined when the key did not appear within timeoutMs. */
  async get(key: string, timeoutMs: number): Promise<Buffer | undefined> {
    const r = await this.request(Op.get, getBody(key, timeoutMs));
    if (r.status === Status.timeout) return undefined;
    if (r.status !== Status.ok) throw new Error(`store get ${key} at ${this.address}: ${r.body.toString('utf8')}`);
    return r.body;
  }

  /** The keys among `keys` that are not set. */
  async missing(keys: string[]): Promise<string[]> {
    const b = await this.ok(Op.check, Buffer.from(keys.join('\n'), 'utf8'), 'check');
    return b.length ? b.toString('utf8').split('\n') : [];
  }

  async hello(rank: number, worldSize: number): Promise<void> {
    await this.ok(Op.hello, helloBody(rank, worldSize), `hello from rank ${rank}`);
  }

  async ping(): Promise<void> {
    await this.ok(Op.ping, Buffer.alloc(0), 'ping');
  }

  async abort(message: string): Promise<void> {
    await this.ok(Op.abort, Buffer.from(message, 'utf8'), 'abort');
  }

  /** Resolves with the failure message when any rank aborts the job. */
  async watch(): Promise<string> {
    return (await this.ok(Op.watch, Buffer.alloc(0), 'watch')).toString('utf8');
  }

  /** Says goodbye (a normal exit, not a failure) and closes. */
  async close(): Promise<void> {
    this.leaving = true;
    if (!this.closedBy) {
      try {
        await this.ok(Op.bye, Buffer.alloc(0), 'bye');
      } catch {
        // already gone: nothing to say goodbye to
      }
    }
    this.socket.end();
  }
}
