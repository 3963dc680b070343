// Data parallelism with ZeRO-1 over Gloo (I/O code around the single-process trainer). Every DP rank draws the
// same full batch from its own sampler (so the data position is the single-process one) and runs forward and
// backward on its slice of the sequences; the ZeRO-1 step averages the gradients over DP. Expert loads are summed
// over DP before the bias update, so it equals the single-process one. With expert parallelism, each group of EP
// ranks (one data replica group of the plan) hosts the routed experts as the plan places them, tokens travel to
// their hosts (moe-ep.ts), and an expert's gradient is reduced over the ranks hosting it.
import { step as modelStep } from '../model/transformer.js';
import { sliceBatch } from '../model/token-batch.js';
import { biasSpread } from '../train/balance.js';
import type { StepMetrics, Trainer } from '../train/trainer.js';
import type { ProcessGroup } from '../comm/process-group.js';
import { expertParallelBlock } from './block-ep.js';
import type { EngineGroups } from './rank-engine.js';
import { moeLayerKeys } from './held-params.js';
import { stageForward, type BlockFn } from './stage.js';
import { Zero1, gatherF64, globalBiasUpdate } from './zero1.js';

export class DataParallelTrainer {
  readonly zero: Zero1;
  private readonly moeKeys: string[];
  private readonly blockFn: BlockFn | undefined;

  readonly dp: ProcessGroup;

  constructor(readonly trainer: Trainer, groups: EngineGroups) {
    const { batch } = trainer.options;
    this.dp = groups.world;
    if (groups.data.size !== this.dp.size) throw new Error(`data parallelism: every rank is a replica here, got ${groups.data.size} of ${this.dp.size}`);
    if (batch % this.dp.size !== 0) throw new Error(`--batch ${batch} must be a multiple of the data-parallel size ${this.dp.size}`);
    this.zero = new Zero1(trainer, this.dp, groups.holders);
    this.moeKeys = moeLayerKeys(trainer.config);
    this.blockFn = groups.ep ? expertParallelBlock(groups.ep.group, groups.ep.options, groups.ep.experts) : undefined;
  }

  get shardOpt(): Zero1['shardOpt'] {
    return this.zero.shardOpt;
  }

  async trainStep(): Promise<StepMetrics> {
    const t = this.trainer;
    const t0 = performance.now();
    const { batch, seqLen, alpha, mtpLambda } = t.options;
    const W = seqLen + 1 + t.config.num_nextn_predict_layers;
    const local = batch / this.dp.size;
    const mine = sliceBatch(t.sampler.nextBatch(batch), W, this.dp.rank * local, (this.dp.rank + 1) * local);
    const extra = { segments: mine.segments, objective: mine.objective };
    t.params.zeroGrad();
    let r: { loss: number; mainLoss: number; mtpLoss: number; balance: number; counts: Map<string, Int32Array> };
    if (this.blockFn) {
      const f = await stageForward(t.ctx, t.params, t.config, 0, 1, mine.tokens, local, seqLen,
        { microBatches: 1, alpha, mtpLambda, ...extra }, undefined, this.blockFn);
      await f.back();
      r = f;
    } else {
      r = modelStep(t.ctx, t.params, t.config, mine.tokens, local, seqLen, { alpha, mtpLambda, backward: true, ...extra });
    }
    // The global mean gradient is the mean of the DP ranks' means (equal slices).
    const { gradNorm, lr } = await this.zero.step(1 / this.dp.size);
    const global = await globalBiasUpdate(t, this.dp, this.moeKeys, r.counts, t.config.n_routed_experts);
    // Every rank holds every router bias here, identical after the update: rank-local spread is the global one.
    const m = await gatherF64(this.dp, [r.loss, r.mainLoss, r.mtpLoss, r.balance]);
    const mean = (j: number): number => {
      let s = 0;
      for (let q = 0; q < this.dp.size; q++) s += m[q * 4 + j];
      return s / this.dp.size;
    };
    if (!Number.isFinite(mean(0))) throw new Error(`loss is ${mean(0)} at step ${t.step}: lower --lr or check the data`);
    t.step++;
    return {
      step: t.step, loss: mean(0), mainLoss: mean(1), mtpLoss: mean(2), balance: mean(3), gradNorm, lr,
      tokens: batch * seqLen, seconds: (performance.now() - t0) / 1000, biasSpread: biasSpread(t.params),
      expertLoad: [...global.values()].map((c) => Array.from(c)),
    };
  }
}
