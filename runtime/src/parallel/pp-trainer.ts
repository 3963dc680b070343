// Pipeline parallelism (I/O code): the trainer of a pipeline rank. It runs the per-rank operation list of the
// planner's schedule generator (operator/plan: DualPipe, DualPipeV, 1F1B, ZB1P — the same code the operator and moectl
// use) through pp-executor.ts, one handler per op kind, sequential or overlapped, then the optimizer step. Each rank
// holds only the parameters of its stages (param-placement.ts); the ZeRO-1 step sums every parameter's gradients over
// the ranks holding it (so DualPipe's two copies of a stage, and the embedding that the first stage and the MTP modules
// share, add up). Each data-parallel replica of the pipeline (EP × DP of them per pipeline rank) trains on its slice
// of the batch (gradients averaged over them), and with expert parallelism the EP ranks of one replica exchange tokens
// with the hosts of the routed experts (moe-ep.ts).
import { rankSchedule, scheduleErrors } from '../../../operator/plan/schedule/generate.js';
import type { ScheduleName, ScheduleOp } from '../../../operator/plan/schedule/ops.js';
import { biasSpread } from '../train/balance.js';
import { sliceBatch } from '../model/token-batch.js';
import type { StepMetrics, Trainer } from '../train/trainer.js';
import type { ProcessGroup } from '../comm/process-group.js';
import type { WireFormat } from '../comm/wire.js';
import { expertParallelBlock } from './block-ep.js';
import type { EngineGroups } from './rank-engine.js';
import { moeLayerKeys } from './held-params.js';
import { Zero1, gatherF64, globalBiasUpdate } from './zero1.js';
import { WgradDeferral } from './defer-wgrad.js';
import { PipelineExecutor } from './pp-executor.js';
import { stageCount } from './pp-ops.js';
import { PipelineStepState, type PipelineTiming } from './pp-step-state.js';

export type { PipelineTiming } from './pp-step-state.js';

export interface PipelineOptions {
  schedule: ScheduleName;
  /** Micro-batches per step of each DP replica. */
  microBatches: number;
  /** Activations and gradients between pipeline ranks (default 'fp32'). */
  wire?: WireFormat;
  /** Paired chunks interleaved, receives awaited where read (default false: the sequential order). */
  overlap?: boolean;
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
  private readonly executor: PipelineExecutor;
  lastTiming: PipelineTiming | undefined;
  /** Overlap mode for the next steps (options.overlap at start; both modes give the same numbers, so it may change). */
  overlap: boolean;

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
    this.overlap = o.overlap ?? false;
    const wgrad = new WgradDeferral();
    this.executor = new PipelineExecutor({
      trainer, ctx: wgrad.wrap(trainer.ctx), wgrad, pp: this.pp, stages: this.stages, ops: this.ops, wire: o.wire ?? 'fp32',
      seat: { schedule: o.schedule, rank: this.pp.rank, ranks: this.pp.size, microBatches: o.microBatches },
      blockFn: groups.ep ? expertParallelBlock(groups.ep.group, groups.ep.options, groups.ep.experts, groups.ep.back) : undefined,
      epGroups: groups.ep?.back ? { fwd: groups.ep.group, back: groups.ep.back } : undefined,
    });
  }

  /** The op list over this replica's slice of the batch, then the optimizer step over every parameter's holders. */
  async trainStep(): Promise<StepMetrics> {
    const t = this.trainer;
    const t0 = performance.now();
    const { batch, seqLen, alpha, mtpLambda } = t.options;
    const C = this.o.microBatches;
    const window = seqLen + 1 + t.config.num_nextn_predict_layers;
    const local = batch / this.dpSize, rows = local / C;
    const mine = sliceBatch(t.sampler.nextBatch(batch), window, this.dpRank * local, (this.dpRank + 1) * local);
    t.params.zeroGrad();
    const st = new PipelineStepState({
      tokens: mine.tokens, segments: mine.segments, objective: mine.objective, rows, window, seqLen, stage: { microBatches: C, alpha, mtpLambda }, messageValues: rows * seqLen * t.config.hidden_size,
    }, this.overlap);
    this.lastTiming = await this.executor.run(st);
    return this.optimizerStep(st, t0);
  }

  private async optimizerStep(st: PipelineStepState, t0: number): Promise<StepMetrics> {
    const t = this.trainer;
    // Summed over each parameter's holders (both copies of a stage, shared embedding, DP replicas), averaged over DP.
    const { gradNorm, lr } = await this.zero.step(1 / this.dpSize);
    const global = await globalBiasUpdate(t, this.world, this.moeKeys, st.counts, t.config.n_routed_experts);
    // Each rank holds the router biases of its own layers only: the spread is the largest over the ranks.
    const { loss, mainLoss, mtpLoss, balance } = st.losses;
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
      tokens: t.options.batch * t.options.seqLen, seconds: (performance.now() - t0) / 1000, biasSpread: spread,
      expertLoad: [...global.values()].map((c) => Array.from(c)),
    };
  }
}
