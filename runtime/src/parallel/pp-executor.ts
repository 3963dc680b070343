// Runs one step of a pipeline rank's op list (I/O: Gloo send/recv, the stages' forward and backward): one handler per
// op kind of the planner's list (operator/plan/schedule/ops.ts), over the step's state (pp-step-state.ts); where an
// op's buffers are comes from pp-ops.ts.
// Communication follows the schedule's semantics: send/recv ops are queued and posted together at the next compute
// op. Sequential mode (`overlap` off) then waits for all of them and runs an FB pair's forward, then its backward.
// Overlap mode waits only for the receive a chunk reads, and runs the pair's forward and backward as two interleaved
// tasks: while one waits on its expert all-to-all or its input, the other computes (Gloo moves the bytes on its own
// threads). The two never share a communicator — the backward's all-to-alls go over a second EP group (rank-engine.ts) —
// so each group sees one order of collectives on every rank; the pair's sends are posted as soon as their chunk is
// done. Results are bit-identical to sequential mode: only the backward accumulates gradients and only the forward
// adds to the loss, each in the same order as before. Activations and gradients travel in `wire` (BF16 under the
// low-precision recipes). In overlap mode a B the schedule marks deferW queues its weight-gradient GEMMs and the
// matching W runs them (defer-wgrad.ts: zero-bubble, bit-identical); in sequential mode W is a no-op and every B
// computes its weight gradients at once.
import type { ChunkRef, ScheduleOp } from '../../../operator/plan/schedule/ops.js';
import type { Ctx } from '../model/gemm.js';
import type { Vec } from '../model/tensor.js';
import type { Trainer } from '../train/trainer.js';
import { commBusyMs } from '../comm/clock.js';
import type { ProcessGroup } from '../comm/process-group.js';
import { decodeWire, encodeWire, wireBuffer, type WireFormat } from '../comm/wire.js';
import type { WgradDeferral } from './defer-wgrad.js';
import {
  chunkAt, forwardInput, messageKind, outputGradient, pairSends, tagOf, type MessageOp, type PipeSeat,
} from './pp-ops.js';
import type { PipelineStepState, PipelineTiming } from './pp-step-state.js';
import { stageForward, type BlockFn } from './stage.js';
import { sliceBatch } from '../model/token-batch.js';

type OpOf<K extends ScheduleOp['kind']> = ScheduleOp & { kind: K };

/** What a rank's executor keeps for its life (the trainer's, built once). */
export interface ExecutorParts {
  trainer: Trainer;
  /** The trainer's context with its GEMMs able to defer weight gradients (`wgrad`). */
  ctx: Ctx;
  wgrad: WgradDeferral;
  pp: ProcessGroup;
  seat: PipeSeat;
  /** Model stages of the schedule. */
  stages: number;
  ops: readonly ScheduleOp[];
  wire: WireFormat;
  /** Decoder layers with expert parallelism (undefined: the model's own layer). */
  blockFn: BlockFn | undefined;
  /** The forward and backward EP communicators (overlap report only). */
  epGroups: { fwd: ProcessGroup; back: ProcessGroup } | undefined;
}

interface Deferred<T> { promise: Promise<T>; resolve(v: T): void; reject(e: unknown): void }
function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void, reject!: (e: unknown) => void;
  const promise = new Promise<T>((a, b) => { resolve = a; reject = b; });
  promise.catch(() => undefined); // rejections surface where the value is awaited
  return { promise, resolve, reject };
}

function callsOf(g: ProcessGroup | undefined): number {
  return g ? Object.values(g.traffic.calls).reduce((a, b) => a + b, 0) : 0;
}

export class PipelineExecutor {
  /** For each FB op (by index), the sends its chunks post themselves in overlap mode. */
  private readonly pairs: Map<number, { f: number[]; b: number[] }>;

  constructor(private readonly x: ExecutorParts) {
    this.pairs = pairSends(x.ops);
  }

  /** Runs the op list over `st`; returns where the time went. */
  async run(st: PipelineStepState): Promise<PipelineTiming> {
    const elu0 = performance.eventLoopUtilization(), comm0 = commBusyMs(), p0 = performance.now();
    const ops = this.x.ops;
    for (let i = 0; i < ops.length; i++) {
      if (st.postedEarly.has(i)) continue;
      const running = this.handle(st, ops[i]!, i);
      if (running) await running;
    }
    await this.flush(st);
    await Promise.all(st.sends);
    if (this.x.wgrad.pending > 0) throw new Error(`pipeline rank ${this.x.pp.rank}: ${this.x.wgrad.pending} deferred backward(s) without their W`);
    return {
      pipelineMs: performance.now() - p0, commMs: commBusyMs() - comm0, exposedMs: performance.eventLoopUtilization(elu0).idle,
      interleavedPairs: st.interleavedPairs, deferredW: st.deferredW,
    };
  }

  private handle(st: PipelineStepState, op: ScheduleOp, i: number): Promise<void> | undefined {
    switch (op.kind) {
      case 'sendF': case 'sendB': return this.onSend(st, op);
      case 'recvF': case 'recvB': return this.onRecv(st, op);
      case 'F': return this.onF(st, op);
      case 'B': return this.onB(st, op);
      case 'W': return this.onW(st, op);
      case 'FB': return st.overlap ? this.onPairOverlapped(st, op, i) : this.onPair(st, op);
    }
  }

  /** send: queued, posted at the next compute op (in overlap mode possibly earlier, by its FB pair). */
  private onSend(st: PipelineStepState, op: MessageOp): undefined {
    st.queued.push(() => this.postSend(st, op));
    return undefined;
  }

  /** recv: queued likewise; the chunk that reads it awaits the value filed under its key. */
  private onRecv(st: PipelineStepState, op: MessageOp): undefined {
    const c = chunkAt(this.x.seat, op), kind = messageKind(op);
    const got = deferred<Vec>();
    st.receiving(kind, c.key, got.promise);
    st.queued.push(() => {
      const buf = wireBuffer(st.batch.messageValues, this.x.wire);
      const p = this.x.pp.recv(buf, op.peer, tagOf(kind, op.dir, op.mb));
      p.then(() => got.resolve(decodeWire(buf)), got.reject);
      return p;
    });
    return undefined;
  }

  /** F: the queue posted (sequential: and awaited), then the forward. */
  private async onF(st: PipelineStepState, op: OpOf<'F'>): Promise<void> {
    await this.postQueued(st);
    await this.forward(st, op);
  }

  /** B: the queue posted, then the backward; in overlap mode a deferW B leaves its weight-gradient GEMMs to its W. */
  private async onB(st: PipelineStepState, op: OpOf<'B'>): Promise<void> {
    await this.postQueued(st);
    if (st.overlap && op.deferW) await this.x.wgrad.defer(`${op.dir}.${op.mb}`, () => this.backward(st, op));
    else await this.backward(st, op);
  }

  /** W: the queue posted; in overlap mode the oldest deferred weight-gradient GEMMs (sequential: its B did them). */
  private async onW(st: PipelineStepState, op: OpOf<'W'>): Promise<void> {
    if (!st.overlap) return this.flush(st);
    this.post(st);
    this.x.wgrad.runOldest(`${op.dir}.${op.mb}`);
    st.deferredW++;
  }

  /** FB, sequential: the queue awaited, the pair's forward, then its backward. */
  private async onPair(st: PipelineStepState, op: OpOf<'FB'>): Promise<void> {
    await this.flush(st);
    await this.forward(st, op.f);
    await this.backward(st, op.b);
  }

  /**
   * FB, overlap: the queue posted, the pair's forward and backward as two interleaved tasks, each posting its own
   * sends (listed before the next compute op) as soon as it is done. Counts the pair as interleaved when one chunk
   * finished while the other had issued expert all-to-alls and was not done.
   */
  private async onPairOverlapped(st: PipelineStepState, op: OpOf<'FB'>, i: number): Promise<void> {
    this.post(st);
    const sends = this.pairs.get(i)!, ep = this.x.epGroups;
    const f0 = callsOf(ep?.fwd), b0 = callsOf(ep?.back);
    let fDone = false, bDone = false, mixed = false;
    await Promise.all([
      this.forward(st, op.f).then(() => {
        fDone = true;
        if (!bDone && callsOf(ep?.back) > b0) mixed = true;
        this.postEarly(st, sends.f);
      }),
      this.backward(st, op.b).then(() => {
        bDone = true;
        if (!fDone && callsOf(ep?.fwd) > f0) mixed = true;
        this.postEarly(st, sends.b);
      }),
    ]);
    if (mixed) st.interleavedPairs++;
  }

  /** One chunk's forward: reads its input (received, or this rank's previous stage), keeps what its backward needs. */
  private async forward(st: PipelineStepState, ref: ChunkRef): Promise<void> {
    const t = this.x.trainer, b = st.batch;
    const c = chunkAt(this.x.seat, ref), from = forwardInput(c);
    const input = from === undefined ? undefined : await (st.inputs.get(from.received) ?? st.outputs.get(from.local));
    if (from && !input) throw new Error(`pipeline rank ${this.x.pp.rank}: no input for stage ${c.stage} micro-batch ${c.mb}`);
    const mb = sliceBatch(b, b.window, c.mb * b.rows, (c.mb + 1) * b.rows);
    const f = await stageForward(this.x.ctx, t.params, t.config, c.stage, this.x.stages, mb.tokens, b.rows, b.seqLen,
      { ...b.stage, segments: mb.segments, objective: mb.objective }, input, this.x.blockFn);
    st.fwds.set(c.key, f);
    if (f.y) st.outputs.set(c.key, f.y);
    st.addForward(f);
  }

  /** One chunk's backward: reads the gradient on its output (received, or this rank's next stage), keeps its input's. */
  private async backward(st: PipelineStepState, ref: ChunkRef): Promise<void> {
    const c = chunkAt(this.x.seat, ref);
    const f = st.fwds.get(c.key);
    if (!f) throw new Error(`pipeline rank ${this.x.pp.rank}: backward of stage ${c.stage} micro-batch ${c.mb} before its forward`);
    const from = outputGradient(c, this.x.stages);
    const dy = from === undefined ? undefined : await (st.gradsOut.get(from.received) ?? st.gradsIn.get(from.local));
    if (from && !dy) throw new Error(`pipeline rank ${this.x.pp.rank}: no output gradient for stage ${c.stage} micro-batch ${c.mb}`);
    const dx = await f.back(dy);
    if (dx) st.gradsIn.set(c.key, dx);
    st.fwds.delete(c.key);
  }

  /** Before a compute op: the queued sends and receives posted; sequential mode also waits for all of them. */
  private postQueued(st: PipelineStepState): Promise<void> | undefined {
    if (!st.overlap) return this.flush(st);
    this.post(st);
    return undefined;
  }

  private post(st: PipelineStepState): Promise<void>[] {
    const ps = st.queued.map((p) => p());
    st.queued = [];
    return ps;
  }

  private async flush(st: PipelineStepState): Promise<void> {
    await Promise.all(this.post(st));
  }

  /** The sends (by op index) an FB chunk posts as soon as it is done; the op list then skips them. */
  private postEarly(st: PipelineStepState, indices: number[]): void {
    for (const j of indices) {
      if (st.postedEarly.has(j)) continue;
      st.postedEarly.add(j);
      this.postSend(st, this.x.ops[j] as MessageOp);
    }
  }

  private postSend(st: PipelineStepState, op: MessageOp): Promise<void> {
    const c = chunkAt(this.x.seat, op), kind = messageKind(op);
    const buf = st.sendBuffer(kind, c.key);
    if (!buf) throw new Error(`pipeline rank ${this.x.pp.rank}: nothing to ${op.kind} for stage ${c.stage} micro-batch ${c.mb}`);
    const p = this.x.pp.send(encodeWire(buf as Float32Array, this.x.wire), op.peer, tagOf(kind, op.dir, op.mb));
    p.catch(() => undefined); // awaited at the end of the op list
    st.sends.push(p);
    return p;
  }
}
