// A process group over Gloo (I/O code): promise API over the addon, one collective in flight per group (Gloo's
// collectives on one context must run one at a time), point-to-point posted in program order, byte counters for
// the traffic report. Errors name the group and the operation.
import { collectives, type RawCollectives } from './collectives-binding.js';
import { commBegin } from './clock.js';

export interface GroupSpec {
  /** Name unique in the job: the store key prefix. */
  name: string;
  /** Global ranks of the members, in group-rank order. */
  ranks: number[];
}

export interface Traffic {
  /** Bytes this rank handed to the network per operation kind (own-rank copies excluded). */
  sent: Record<string, number>;
  calls: Record<string, number>;
}

export class ProcessGroup {
  readonly traffic: Traffic = { sent: {}, calls: {} };
  private chain: Promise<unknown> = Promise.resolve();
  private tagSeq = 0;
  private closed = false;

  private constructor(private readonly raw: RawCollectives, private readonly handle: number, readonly name: string,
    readonly rank: number, readonly size: number, readonly ranks: number[], readonly timeoutMs: number) {}

  /** Joins the group named `spec.name`; every member must call this. */
  static async connect(o: {
    spec: GroupSpec; globalRank: number; storeHost: string; storePort: number; hostAddr: string; timeoutMs: number;
  }): Promise<ProcessGroup> {
    const { spec } = o;
    const rank = spec.ranks.indexOf(o.globalRank);
    if (rank < 0) throw new Error(`group ${spec.name}: rank ${o.globalRank} is not a member of [${spec.ranks.join(', ')}]`);
    const raw = collectives();
    const handle = await new Promise<number>((resolve, reject) => raw.connect({
      rank, size: spec.ranks.length, storeHost: o.storeHost, storePort: o.storePort, prefix: `pg/${spec.name}/`,
      hostname: o.hostAddr, timeoutMs: o.timeoutMs,
    }, (err, h) => (err ? reject(new Error(`group ${spec.name}: ${err.message}`)) : resolve(h))));
    return new ProcessGroup(raw, handle, spec.name, rank, spec.ranks.length, spec.ranks, o.timeoutMs);
  }

  private count(kind: string, bytes: number): void {
    this.traffic.sent[kind] = (this.traffic.sent[kind] ?? 0) + bytes;
    this.traffic.calls[kind] = (this.traffic.calls[kind] ?? 0) + 1;
  }

  private check(): void {
    if (this.closed) throw new Error(`group ${this.name} is closed`);
  }

  /** Runs collectives one at a time, each under a fresh tag so a late message never matches the next call. */
  private collective(kind: string, bytes: number, run: (tag: number, cb: (e: Error | null) => void) => void): Promise<void> {
    this.check();
    const tag = (this.tagSeq = (this.tagSeq + 1) % 0xffffffff);
    const done = commBegin();
    const next = this.chain.then(() => new Promise<void>((resolve, reject) => run(tag, (e) => {
      done();
      if (e) reject(new Error(`group ${this.name} (rank ${this.rank} of ${this.size}) ${kind}: ${e.message}`));
      else resolve();
    })));
    next.catch(done);
    this.count(kind, bytes);
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** In-place sum over the group. */
  allreduce(buf: Float32Array, timeoutMs = this.timeoutMs): Promise<void> {
    const bytes = this.size > 1 ? (2 * (this.size - 1) / this.size) * buf.byteLength : 0;
    return this.collective('allreduce', bytes, (tag, cb) => this.raw.allreduce(this.handle, buf, tag, timeoutMs, cb));
  }

  /** inBytes[r] bytes of `input` go to group rank r; outBytes[r] bytes arrive from r, packed in rank order. */
  alltoallv(input: ArrayBufferView, inBytes: number[], output: ArrayBufferView, outBytes: number[],
    timeoutMs = this.timeoutMs): Promise<void> {
    this.lengths('alltoallv', 'inBytes', inBytes);
    this.lengths('alltoallv', 'outBytes', outBytes);
    const bytes = inBytes.reduce((a, b) => a + b, 0) - inBytes[this.rank];
    return this.collective('alltoallv', bytes,
      (tag, cb) => this.raw.alltoallv(this.handle, input, inBytes, output, outBytes, tag, timeoutMs, cb));
  }

  /** output = Σ over ranks of their block `rank` of input (blocks of counts[r] floats). */
  reduceScatter(input: Float32Array, counts: number[], output: Float32Array, timeoutMs = this.timeoutMs): Promise<void> {
    this.lengths('reduceScatter', 'counts', counts);
    const bytes = 4 * (counts.reduce((a, b) => a + b, 0) - counts[this.rank]);
    return this.collective('reduceScatter', bytes,
      (tag, cb) => this.raw.reduceScatter(this.handle, input, counts, output, tag, timeoutMs, cb));
  }

  /** output (size × input bytes) = every rank's input in rank order. */
  allgather(input: ArrayBufferView, output: ArrayBufferView, timeoutMs = this.timeoutMs): Promise<void> {
    const bytes = (this.size - 1) * input.byteLength;
    return this.collective('allgather', bytes, (tag, cb) => this.raw.allgather(this.handle, input, output, tag, timeoutMs, cb));
  }

  barrier(timeoutMs = this.timeoutMs): Promise<void> {
    return this.collective('barrier', 0, (tag, cb) => this.raw.barrier(this.handle, tag, timeoutMs, cb));
  }

  /** Posts a send to group rank `dst` now; the promise settles when the bytes are out. */
  send(buf: ArrayBufferView, dst: number, tag: number, timeoutMs = this.timeoutMs): Promise<void> {
    this.check();
    this.count('send', buf.byteLength);
    return this.p2p('send', dst, (cb) => this.raw.send(this.handle, buf, dst, tag, timeoutMs, cb));
  }

  /** Posts a receive from group rank `src` now; the promise settles when `buf` is filled. */
  recv(buf: ArrayBufferView, src: number, tag: number, timeoutMs = this.timeoutMs): Promise<void> {
    this.check();
    return this.p2p('recv', src, (cb) => this.raw.recv(this.handle, buf, src, tag, timeoutMs, cb));
  }

  private p2p(kind: string, peer: number, run: (cb: (e: Error | null) => void) => void): Promise<void> {
    const done = commBegin();
    return new Promise<void>((resolve, reject) => {
      const fail = (e: Error): void => {
        done();
        reject(new Error(`group ${this.name} (rank ${this.rank}) ${kind} ${kind === 'send' ? 'to' : 'from'} group rank ${peer} ` +
          `(global rank ${this.ranks[peer] ?? '?'}): ${e.message}`));
      };
      try {
        run((e) => (e ? fail(e) : (done(), resolve())));
      } catch (e) {
        fail(e as Error);
      }
    });
  }

  private lengths(fn: string, name: string, v: number[]): void {
    if (v.length !== this.size) {
      throw new Error(`group ${this.name} ${fn}: ${name} has ${v.length} entries, expected one per rank (${this.size})`);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.raw.close(this.handle);
  }
}
