// Pipeline parallelism (I/O code): runs the per-rank operation list of the planner's schedule generator
// (operator/plan: DualPipe, DualPipeV, 1F1B, ZB1P — the same code the operator and moectl use) over Gloo
// send/recv. Each rank holds only the parameters of its stages (placement.ts); the ZeRO-1 step sums every
// parameter's gradients over the ranks holding it (so DualPipe's two copies of a stage, and the embedding that the
// first stage and the MTP modules share, add up). Each data-parallel replica of the pipeline (EP × DP of them per
// pipeline rank) trains on its slice of the batch (gradients averaged over them), and with expert parallelism the
// EP ranks of one replica exchange tokens with the hosts of the routed experts (moe-ep.ts).
// Communication follows the schedule's semantics: send/recv ops are queued and posted together, then awaited,
// before the next compute op. W ops are no-ops here: each B computes its weight gradients at once.
import { rankSchedule, scheduleErrors } from '../../../operator/plan/schedule-generate.js';
import type { Dir, ScheduleName, ScheduleOp } from '../../../operator/plan/schedule-types.js';
import type { Vec } from '../model/tensor.js';
import { biasSpread } from '../train/balance.js';
import type { StepMetrics, Trainer } from '../train/trainer.js';
import type { ProcessGroup } from './process-group.js';
import { expertParallelBlock } from './block-ep.js';
import type { EngineGroups } from './engine.js';
import { moeLayerKeys } from './held-params.js';
import { stageForward, type BlockFn, type StageFwd } from './stage.js';
import { Zero1, gatherF64, globalBiasUpdate } from './zero1.js';

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
    this.blockFn = groups.ep ? expertParallelBlock(groups.ep.group, groups.ep.options, groups.ep.experts) : undefined;
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
    const fwds = new Map<string, StageFwd>();
    const inputs = new Map<string, Vec>();   // received or handed over activations, by consuming stage
    const outputs = new Map<string, Vec>();  // activations produced, by producing stage
    const gradsOut = new Map<string, Vec>(); // gradient on a stage's output
    const gradsIn = new Map<string, Vec>();  // gradient on a stage's input
    let loss = 0, mainLoss = 0, mtpLoss = 0, balance = 0;
    const counts = new Map<string, Int32Array>();
    let queued: Array<() => Promise<void>> = [];
    const stage = (dir: Dir): number => stageOf(schedule, this.pp.rank, this.pp.size, dir);
    const gmb = (dir: Dir, mb: number): number => globalMicroBatch(schedule, dir, mb, C);
    const flush = async (): Promise<void> => {
      const posts = queued;
      queued = [];
      await Promise.all(posts.map((p) => p()));
    };

    const forward = async (dir: Dir, mb: number): Promise<void> => {
      const s = stage(dir), g = gmb(dir, mb);
      const input = s === 0 ? undefined : (inputs.get(key(s, g)) ?? outputs.get(key(s - 1, g)));
      if (s > 0 && !input) throw new Error(`pipeline rank ${this.pp.rank}: no input for stage ${s} micro-batch ${g}`);
      const f = await stageForward(t.ctx, t.params, t.config, s, this.stages, all.subarray(g * Bmb * W, (g + 1) * Bmb * W),
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
      const dy = s === this.stages - 1 ? undefined : (gradsOut.get(key(s, g)) ?? gradsIn.get(key(s + 1, g)));
      if (s < this.stages - 1 && !dy) throw new Error(`pipeline rank ${this.pp.rank}: no output gradient for stage ${s} micro-batch ${g}`);
      const dx = await f.back(dy);
      if (dx) gradsIn.set(key(s, g), dx);
      fwds.delete(key(s, g));
    };

    for (const op of this.ops) {
      switch (op.kind) {
        case 'sendF': case 'sendB': {
          const s = stage(op.dir), g = gmb(op.dir, op.mb);
          const buf = op.kind === 'sendF' ? outputs.get(key(s, g)) : gradsIn.get(key(s, g));
          if (!buf) throw new Error(`pipeline rank ${this.pp.rank}: nothing to ${op.kind} for stage ${s} micro-batch ${g}`);
          queued.push(() => this.pp.send(buf, op.peer, tagOf(op.kind === 'sendF' ? 'F' : 'B', op.dir, op.mb)));
          break;
        }
        case 'recvF': case 'recvB': {
          const s = stage(op.dir), g = gmb(op.dir, op.mb);
          const buf = t.ctx.alloc(Tmb * d);
          (op.kind === 'recvF' ? inputs : gradsOut).set(key(s, g), buf);
          queued.push(() => this.pp.recv(buf, op.peer, tagOf(op.kind === 'recvF' ? 'F' : 'B', op.dir, op.mb)));
          break;
        }
        case 'F':
          await flush();
          await forward(op.dir, op.mb);
          break;
        case 'B':
          await flush();
          await backward(op.dir, op.mb);
          break;
        case 'W':
          await flush();
          break;
        case 'FB':
          await flush();
          await forward(op.f.dir, op.f.mb);
          await backward(op.b.dir, op.b.mb);
          break;
      }
    }
    await flush();

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
