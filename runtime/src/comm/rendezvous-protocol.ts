// Wire format of the rendezvous store (pure: no I/O). Little-endian.
//   request  u8 op, u32 id, u32 len, body[len]
//   reply    u32 id, u8 status, u32 len, body[len]      status: 0 ok, 1 timeout, 2 error (body = message)
// Ops (body layout):
//   'S' set         u32 klen, key, value
//   'G' get         u32 timeoutMs, key         -> value, once the key exists (status 1 after timeoutMs)
//   'C' check       keys joined by '\n'        -> the missing ones joined by '\n'
//   'H' hello       u32 rank, u32 worldSize    -> this connection is that rank's lifeline
//   'P' ping        (empty)                    -> heartbeat of the hello'd rank
//   'B' bye         (empty)                    -> the rank is leaving normally; closing is not a failure
//   'K' abort       message                    -> every watcher learns of the failure
//   'X' watch       (empty)                    -> reply (body = message) when the job aborts
// The C++ client (runtime/collectives/src/socket_store.cc) speaks 'S' and 'G' with id 0.

export const Op = { set: 0x53, get: 0x47, check: 0x43, hello: 0x48, ping: 0x50, bye: 0x42, abort: 0x4b, watch: 0x58 } as const;
export type OpCode = (typeof Op)[keyof typeof Op];
export const Status = { ok: 0, timeout: 1, error: 2 } as const;

export interface Request { op: number; id: number; body: Buffer }
export interface Reply { id: number; status: number; body: Buffer }

export function encodeRequest(op: number, id: number, body: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUInt8(op, 0);
  head.writeUInt32LE(id >>> 0, 1);
  head.writeUInt32LE(body.length, 5);
  return Buffer.concat([head, body]);
}

export function encodeReply(id: number, status: number, body: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUInt32LE(id >>> 0, 0);
  head.writeUInt8(status, 4);
  head.writeUInt32LE(body.length, 5);
  return Buffer.concat([head, body]);
}

export function setBody(key: string, value: Buffer): Buffer {
  const k = Buffer.from(key, 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(k.length, 0);
  return Buffer.concat([len, k, value]);
}

export function parseSetBody(body: Buffer): { key: string; value: Buffer } {
  if (body.length < 4) throw new Error(`set: body of ${body.length} bytes is shorter than its key length field`);
  const klen = body.readUInt32LE(0);
  if (4 + klen > body.length) throw new Error(`set: key length ${klen} runs past the ${body.length}-byte body`);
  return { key: body.subarray(4, 4 + klen).toString('utf8'), value: Buffer.from(body.subarray(4 + klen)) };
}

export function getBody(key: string, timeoutMs: number): Buffer {
  const t = Buffer.alloc(4);
  t.writeUInt32LE(Math.max(0, Math.min(0xffffffff, Math.round(timeoutMs))), 0);
  return Buffer.concat([t, Buffer.from(key, 'utf8')]);
}

export function parseGetBody(body: Buffer): { key: string; timeoutMs: number } {
  if (body.length < 4) throw new Error(`get: body of ${body.length} bytes is shorter than its timeout field`);
  return { timeoutMs: body.readUInt32LE(0), key: body.subarray(4).toString('utf8') };
}

export function helloBody(rank: number, worldSize: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32LE(rank, 0);
  b.writeUInt32LE(worldSize, 4);
  return b;
}

export function parseHelloBody(body: Buffer): { rank: number; worldSize: number } {
  if (body.length !== 8) throw new Error(`hello: body must be 8 bytes (rank, worldSize), got ${body.length}`);
  return { rank: body.readUInt32LE(0), worldSize: body.readUInt32LE(4) };
}

/** Splits a byte stream into frames of `headLen` bytes + body, the body length at `lenOffset`. */
export class FrameReader<T> {
  private buf: Buffer = Buffer.alloc(0);
  constructor(private readonly make: (head: Buffer, body: Buffer) => T, private readonly lenOffset = 5) {}

  push(chunk: Buffer): T[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: T[] = [];
    while (this.buf.length >= 9) {
      const len = this.buf.readUInt32LE(this.lenOffset);
      if (this.buf.length < 9 + len) break;
      out.push(this.make(this.buf.subarray(0, 9), Buffer.from(this.buf.subarray(9, 9 + len))));
      this.buf = this.buf.subarray(9 + len);
    }
    return out;
  }
}

export function requestReader(): FrameReader<Request> {
  return new FrameReader((h, body) => ({ op: h.readUInt8(0), id: h.readUInt32LE(1), body }));
}

export function replyReader(): FrameReader<Reply> {
  return new FrameReader((h, body) => ({ id: h.readUInt32LE(0), status: h.readUInt8(4), body }));
}
