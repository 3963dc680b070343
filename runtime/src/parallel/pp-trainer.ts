// Pipeline parallelism (I/O code): runs the per-rank operation list of the planner's schedule generator
// (operator/plan: DualPipe, DualPipeV, 1F1B, ZB1P — the same code the operator and moectl use) over Gloo
// send/recv. Each rank holds only the parameters of its stages (param-placement.ts); the ZeRO-1 step sums every
// parameter's gradients over the ranks holding it (so DualPipe's two copies of a stage, and the embedding that the
// first stage and the MTP modules share, add up). Each data-parallel replica of the pipeline (EP × DP of them per
// pipeline rank) trains on its slice of the batch (gradients averaged over them), and with expert parallelism the
// EP ranks of one replica exchange tokens with the hosts of the routed experts (moe-ep.ts).
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
import { rankSchedule, scheduleErrors } from '../../../operator/plan/schedule/generate.js';
import type { Dir, ScheduleName, ScheduleOp } from '../../../operator/plan/schedule/ops.js';
import type { Vec } from '../model/tensor.js';
import { biasSpread } from '../train/balance.js';
import type { StepMetrics, Trainer } from '../train/trainer.js';
import type { ProcessGroup } from '../comm/process-group.js';
import { expertParallelBlock } from './block-ep.js';
import type { EngineGroups } from './rank-engine.js';
import { moeLayerKeys } from './held-params.js';
import { stageForward, type BlockFn, type StageFwd } from './stage.js';
import { Zero1, gatherF64, globalBiasUpdate } from './zero1.js';
import { commBusyMs } from '../comm/clock.js';
import { WgradDeferral } from './defer-wgrad.js';
import type { Ctx } from '../model/gemm.js';
import { decodeWire, encodeWire, wireBuffer, type WireFormat } from '../comm/wire.js';

/** Model stages of a schedule over `ranks` pipeline ranks. */
export function stageCount(name: ScheduleName, ranks: number): number {
  return name === 'DualPipeV' ? 2 * ranks : ranks;
}

/** The stage that `rank` runs for direction `dir`. */
export function stageOf(name: ScheduleName, rank: number, ranks: number, dir: Dir): number {
  if (dir === 0) return rank;
  if (name === 'DualPipe') return ranks - 1 - rank;
  if (name === 'DualPipeV') return 2 * ranks - 1 - rank;
  throw new Error(`${name} has one direction only`);
}

/** Index of micro-batch `mb` of direction `dir` in the step's batch (DualPipe: the second half enters from the end). */
export function globalMicroBatch(name: ScheduleName, dir: Dir, mb: number, microBatches: number): number {
  return name === 'DualPipe' && dir === 1 ? microBatches / 2 + mb : mb;
}

function tagOf(kind: 'F' | 'B', dir: Dir, mb: number): number {
  return ((kind === 'F' ? 0 : 2) + dir) * 0x100000 + mb;
}

export interface PipelineOptions {
  schedule: ScheduleName;
  /** Micro-batches per step of each DP replica. */
  microBatches: number;
  /** Activations and gradients between pipeline ranks (default 'fp32'). */
  wire?: WireFormat;
  /** Paired chunks interleaved, receives awaited where read (default false: the sequential order). */
  overlap?: boolean;
}

/** Where the last step's pipeline phase (the op list, before the optimizer step) spent its time, ms. */
export interface PipelineTiming {
  pipelineMs: number;
  /** Some communication in flight (union over groups and operations). */
  commMs: number;
  /** The event loop idle: communication that no compute hid. */
  exposedMs: number;
  /** W ops that ran deferred weight-gradient GEMMs (0 when sequential). */
  deferredW: number;
  /** FB pairs where one chunk ended while the other had expert all-to-alls issued and was not done (0 sequential). */
  interleavedPairs: number;
}

interface Deferred<T> { promise: Promise<T>; resolve(v: T): void; reject(e: unknown): void }
function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void, reject!: (e: unknown) => void;
  const promise = new Promise<T>((a, b) => { resolve = a; reject = b; });
  promise.catch(() => undefined); // rejections surface where the value is awaited
  return { promise, resolve, reject };
}

export class PipelineTrainer {
  readonly ops: ScheduleOp[];
  readonly stages: number;
  readonly zero: Zero1;
  readonly pp: ProcessGroup;
  readonly world: ProcessGroup;
  readonly dpSize: number;
  readonly dpRank: number;
  private readonly moeKeys: string[];
  private readonly blockFn: BlockFn | undefined;
  lastTiming: PipelineTiming | undefined;
  /** Overlap mode for the next steps (options.overlap at start; both modes give the same numbers, so it may change). */
  overlap: boolean;
  private readonly wgrad = new WgradDeferral();
  /** The trainer's context with its GEMMs able to defer weight gradients. */
  private readonly ctx: Ctx;
  private readonly epGroups: { fwd: ProcessGroup; back: ProcessGroup } | undefined;

  constructor(readonly trainer: Trainer, groups: EngineGroups, readonly o: PipelineOptions) {
    if (!groups.pp) throw new Error('pipeline: no pipeline group (parallelism.pipeline.stages is 1: use the data-parallel engine)');
    this.pp = groups.pp;
    this.world = groups.world;
    this.dpSize = groups.data.size;
    this.dpRank = groups.data.rank;
    const errs = scheduleErrors(o.schedule, this.pp.size, o.microBatches);
    if (errs.length) throw new Error(`pipeline: ${errs.join('; ')}`);
    if (trainer.options.batch % (o.microBatches * this.dpSize) !== 0) {
      throw new Error(`--batch ${trainer.options.batch} must be a multiple of micro-batches × DP = ${o.microBatches} × ${this.dpSize}`);
    }
    this.ops = rankSchedule(o.schedule, this.pp.rank, this.pp.size, o.microBatches);
    this.stages = stageCount(o.schedule, this.pp.size);
    this.zero = new Zero1(trainer, this.world, groups.holders);
    this.moeKeys = moeLayerKeys(trainer.config);
    this.ctx = this.wgrad.wrap(trainer.ctx);
    this.overlap = o.overlap ?? false;
    this.epGroups = groups.ep?.back ? { fwd: groups.ep.group, back: groups.ep.back } : undefined;
    this.blockFn = groups.ep ? expertParallelBlock(groups.ep.group, groups.ep.options, groups.ep.experts, groups.ep.back) : undefined;
  }

  async trainStep(): Promise<StepMetrics> {
    const t = this.trainer;
    const t0 = performance.now();
    const { batch, seqLen, alpha, mtpLambda } = t.options;
    const { schedule, microBatches: C } = this.o;
    const W = seqLen + 1 + t.config.num_nextn_predict_layers;
    const local = batch / this.dpSize, Bmb = local / C;
    const Tmb = Bmb * seqLen, d = t.config.hidden_size;
    const all = t.sampler.next(batch).subarray(this.dpRank * local * W, (this.dpRank + 1) * local * W);
    t.params.zeroGrad();

    const key = (stage: number, g: number): string => `${stage}/${g}`;
    const wire = this.o.wire ?? 'fp32', overlap = this.overlap;
    const fwds = new Map<string, StageFwd>();
    const inputs = new Map<string, Promise<Vec>>();   // received activations, by consuming stage
    const outputs = new Map<string, Vec>();           // activations produced, by producing stage
    const gradsOut = new Map<string, Promise<Vec>>(); // received gradient on a stage's output
    const gradsIn = new Map<string, Vec>();           // gradient on a stage's input
    let loss = 0, mainLoss = 0, mtpLoss = 0, balance = 0;
    const counts = new Map<string, Int32Array>();
    let queued: Array<() => Promise<void>> = [];
    const sends: Promise<void>[] = [];
    const stage = (dir: Dir): number => stageOf(schedule, this.pp.rank, this.pp.size, dir);
    const gmb = (dir: Dir, mb: number): number => globalMicroBatch(schedule, dir, mb, C);
    const post = (): Promise<void>[] => {
      const ps = queued.map((p) => p());
      queued = [];
      return ps;
    };
    const flush = async (): Promise<void> => {
      await Promise.all(post());
    };
    const postSend = (op: { kind: string; dir: Dir; mb: number; peer: number }): Promise<void> => {
      const s = stage(op.dir), g = gmb(op.dir, op.mb);
      const buf = op.kind === 'sendF' ? outputs.get(key(s, g)) : gradsIn.get(key(s, g));
      if (!buf) throw new Error(`pipeline rank ${this.pp.rank}: nothing to ${op.kind} for stage ${s} micro-batch ${g}`);
      const p = this.pp.send(encodeWire(buf as Float32Array, wire), op.peer, tagOf(op.kind === 'sendF' ? 'F' : 'B', op.dir, op.mb));
      p.catch(() => undefined); // awaited at the end of the op list
      sends.push(p);
      return p;
    };

    const forward = async (dir: Dir, mb: number): Promise<void> => {
      const s = stage(dir), g = gmb(dir, mb);
      const input = s === 0 ? undefined : await (inputs.get(key(s, g)) ?? outputs.get(key(s - 1, g)));
      if (s > 0 && !input) throw new Error(`pipeline rank ${this.pp.rank}: no input for stage ${s} micro-batch ${g}`);
      const f = await stageForward(this.ctx, t.params, t.config, s, this.stages, all.subarray(g * Bmb * W, (g + 1) * Bmb * W),
        Bmb, seqLen, { microBatches: C, alpha, mtpLambda }, input, this.blockFn);
      fwds.set(key(s, g), f);
      if (f.y) outputs.set(key(s, g), f.y);
      loss += f.loss; mainLoss += f.mainLoss; mtpLoss += f.mtpLoss; balance += f.balance;
      for (const [k, c] of f.counts) {
        const acc = counts.get(k);
        if (acc) for (let e = 0; e < c.length; e++) acc[e] += c[e];
        else counts.set(k, Int32Array.from(c));
      }
    };
    const backward = async (dir: Dir, mb: number): Promise<void> => {
      const s = stage(dir), g = gmb(dir, mb);
      const f = fwds.get(key(s, g));
      if (!f) throw new Error(`pipeline rank ${this.pp.rank}: backward of stage ${s} micro-batch ${g} before its forward`);
      const dy = s === this.stages - 1 ? undefined : await (gradsOut.get(key(s, g)) ?? gradsIn.get(key(s + 1, g)));
      if (s < this.stages - 1 && !dy) throw new Error(`pipeline rank ${this.pp.rank}: no output gradient for stage ${s} micro-batch ${g}`);
      const dx = await f.back(dy);
      if (dx) gradsIn.set(key(s, g), dx);
      fwds.delete(key(s, g));
    };

    const elu0 = performance.eventLoopUtilization(), comm0 = commBusyMs(), p0 = performance.now();
    const ops = this.ops, early = new Set<number>();
    const callsOf = (g: ProcessGroup | undefined): number => (g ? Object.values(g.traffic.calls).reduce((a, b) => a + b, 0) : 0);
    let interleaved = 0, deferredW = 0;
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      if (early.has(i)) continue;
      switch (op.kind) {
        case 'sendF': case 'sendB':
          queued.push(() => postSend(op));
          break;
        case 'recvF': case 'recvB': {
          const s = stage(op.dir), g = gmb(op.dir, op.mb);
          const d0 = deferred<Vec>();
          (op.kind === 'recvF' ? inputs : gradsOut).set(key(s, g), d0.promise);
          queued.push(() => {
            const buf = wireBuffer(Tmb * d, wire);
            const p = this.pp.recv(buf, op.peer, tagOf(op.kind === 'recvF' ? 'F' : 'B', op.dir, op.mb));
            p.then(() => d0.resolve(decodeWire(buf)), d0.reject);
            return p;
          });
          break;
        }
        case 'F':
          if (overlap) post(); else await flush();
          await forward(op.dir, op.mb);
          break;
        case 'B':
          if (overlap) post(); else await flush();
          if (overlap && op.deferW) await this.wgrad.defer(`${op.dir}.${op.mb}`, () => backward(op.dir, op.mb));
          else await backward(op.dir, op.mb);
          break;
        case 'W':
          if (!overlap) {
            await flush();
            break;
          }
          post();
          this.wgrad.runOldest(`${op.dir}.${op.mb}`);
          deferredW++;
          break;
        case 'FB':
          if (!overlap) {
            await flush();
            await forward(op.f.dir, op.f.mb);
            await backward(op.b.dir, op.b.mb);
            break;
          }
          post();
          {
            // The pair's own sends, listed before the next compute op: posted as soon as their chunk is done.
            const after = (kind: 'sendF' | 'sendB', c: { dir: Dir; mb: number }): void => {
              for (let j = i + 1; j < ops.length; j++) {
                const o = ops[j]!;
                if (o.kind === 'F' || o.kind === 'B' || o.kind === 'W' || o.kind === 'FB') break;
                if (o.kind === kind && o.dir === c.dir && o.mb === c.mb && !early.has(j)) {
                  early.add(j);
                  postSend(o);
                }
              }
            };
            // Interleaved: one chunk finished while the other had issued expert all-to-alls and was not done.
            const f0 = callsOf(this.epGroups?.fwd), b0 = callsOf(this.epGroups?.back);
            let fDone = false, bDone = false, mixed = false;
            await Promise.all([
              forward(op.f.dir, op.f.mb).then(() => {
                fDone = true;
                if (!bDone && callsOf(this.epGroups?.back) > b0) mixed = true;
                after('sendF', op.f);
              }),
              backward(op.b.dir, op.b.mb).then(() => {
                bDone = true;
                if (!fDone && callsOf(this.epGroups?.fwd) > f0) mixed = true;
                after('sendB', op.b);
              }),
            ]);
            if (mixed) interleaved++;
          }
          break;
      }
    }
    await flush();
    await Promise.all(sends);
    if (this.wgrad.pending > 0) throw new Error(`pipeline rank ${this.pp.rank}: ${this.wgrad.pending} deferred backward(s) without their W`);
    this.lastTiming = {
      pipelineMs: performance.now() - p0, commMs: commBusyMs() - comm0, exposedMs: performance.eventLoopUtilization(elu0).idle,
      interleavedPairs: interleaved, deferredW,
    };

    // Summed over each parameter's holders (both copies of a stage, shared embedding, DP replicas), averaged over DP.
    const { gradNorm, lr } = await this.zero.step(1 / this.dpSize);
    const global = await globalBiasUpdate(t, this.world, this.moeKeys, counts, t.config.n_routed_experts);
    // Each rank holds the router biases of its own layers only: the spread is the largest over the ranks.
    const parts = await gatherF64(this.world, [loss, mainLoss, mtpLoss, balance, biasSpread(t.params)]);
    const sum = (j: number): number => {
      let s = 0;
      for (let q = 0; q < this.world.size; q++) s += parts[q * 5 + j];
      return s / this.dpSize;
    };
    let spread = 0;
    for (let q = 0; q < this.world.size; q++) spread = Math.max(spread, parts[q * 5 + 4]);
    if (!Number.isFinite(sum(0))) throw new Error(`loss is ${sum(0)} at step ${t.step}: lower --lr or check the data`);
    t.step++;
    return {
      step: t.step, loss: sum(0), mainLoss: sum(1), mtpLoss: sum(2), balance: sum(3), gradNorm, lr,
      tokens: batch * seqLen, seconds: (performance.now() - t0) / 1000, biasSpread: spread,
      expertLoad: [...global.values()].map((c) => Array.from(c)),
    };
  }
}
