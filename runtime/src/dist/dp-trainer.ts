// Data parallelism with ZeRO-1 over Gloo (I/O code around the single-process trainer). Every DP rank draws the
// same full batch from its own sampler (so the data position is the single-process one) and runs forward and
// backward on its slice of the sequences; gradients are reduce-scattered (each rank gets the sum of its shard),
// clipped by the global norm, stepped by an AdamW that holds only the shard's moments, and the updated parameters
// are all-gathered. Expert loads are summed over DP before the bias update, so it equals the single-process one.
import { step as modelStep } from '../model/model.js';
import { Params } from '../model/params.js';
import { alloc32 } from '../model/tensor.js';
import { AdamW, learningRate } from '../train/adamw.js';
import { biasSpread, updateBiases } from '../train/balance.js';
import type { StepMetrics, Trainer } from '../train/trainer.js';
import type { ProcessGroup } from './process-group.js';
import { shardPieces, zero1Layout, type FlatParam, type Piece, type Zero1Layout } from './zero1-layout.js';

export class DataParallelTrainer {
  readonly layout: Zero1Layout;
  readonly pieces: Piece[];
  /** AdamW over this rank's shard only: its "parameters" are views of the real ones. */
  readonly shardOpt: AdamW;
  private readonly flatGrad: Float32Array;
  private readonly gradShard: Float32Array;
  private readonly paramShard: Float32Array;
  private readonly flatParams: Float32Array;

  constructor(readonly trainer: Trainer, readonly dp: ProcessGroup) {
    const { batch } = trainer.options;
    if (batch % dp.size !== 0) throw new Error(`--batch ${batch} must be a multiple of the data-parallel size ${dp.size}`);
    const flat: FlatParam[] = trainer.params.list().map((p) => ({ name: p.name, length: p.data.length, decay: p.decay }));
    this.layout = zero1Layout(flat, dp.size);
    this.pieces = shardPieces(this.layout, flat, dp.rank);
    const padded = this.layout.shardLen * dp.size;
    this.flatGrad = new Float32Array(padded);
    this.gradShard = new Float32Array(this.layout.shardLen);
    this.paramShard = new Float32Array(this.layout.shardLen);
    this.flatParams = new Float32Array(padded);
    const shardParams = new Params(alloc32);
    for (const pc of this.pieces) {
      const p = trainer.params.get(pc.name);
      shardParams.map.set(`${pc.name}[${pc.from}:${pc.to}]`, {
        name: `${pc.name}[${pc.from}:${pc.to}]`, shape: [pc.to - pc.from], decay: pc.decay,
        data: p.data.subarray(pc.from, pc.to), grad: this.gradShard.subarray(pc.shardOffset, pc.shardOffset + pc.to - pc.from),
      });
    }
    this.shardOpt = new AdamW(shardParams, trainer.opt.cfg);
  }

  async trainStep(): Promise<StepMetrics> {
    const t = this.trainer;
    const t0 = performance.now();
    const { batch, seqLen, alpha, mtpLambda, gamma } = t.options;
    const W = seqLen + 1 + t.config.num_nextn_predict_layers;
    const local = batch / this.dp.size;
    const all = t.sampler.next(batch);
    const mine = all.subarray(this.dp.rank * local * W, (this.dp.rank + 1) * local * W);
    t.params.zeroGrad();
    const r = modelStep(t.ctx, t.params, t.config, mine, local, seqLen, { alpha, mtpLambda, backward: true });

    // Gradients: the global mean is the mean of the DP ranks' means (equal slices).
    for (const p of t.params.list()) this.flatGrad.set(p.grad, this.layout.offsets.get(p.name)!);
    const counts = new Array<number>(this.dp.size).fill(this.layout.shardLen);
    await this.dp.reduceScatter(this.flatGrad, counts, this.gradShard);
    const inv = 1 / this.dp.size;
    for (let i = 0; i < this.gradShard.length; i++) this.gradShard[i] *= inv;

    // Global-norm clipping from the shards' sums of squares, added in rank order on every rank.
    let ss = 0;
    for (let i = 0; i < this.gradShard.length; i++) ss += this.gradShard[i] * this.gradShard[i];
    const parts = await this.gatherF64([ss]);
    const gradNorm = Math.sqrt(parts.reduce((a, b) => a + b, 0));
    const clip = t.opt.cfg.clip;
    if (clip > 0 && gradNorm > clip) {
      const f = clip / gradNorm;
      for (let i = 0; i < this.gradShard.length; i++) this.gradShard[i] *= f;
    }
    const lr = learningRate(t.opt.cfg, t.step);
    this.shardOpt.update(t.step, lr);

    // Parameters: every rank's updated shard to everyone.
    for (const pc of this.pieces) this.paramShard.set(t.params.get(pc.name).data.subarray(pc.from, pc.to), pc.shardOffset);
    await this.dp.allgather(this.paramShard, this.flatParams);
    for (const p of t.params.list()) {
      const o = this.layout.offsets.get(p.name)!;
      p.data.set(this.flatParams.subarray(o, o + p.data.length));
    }

    // Expert loads summed over DP, then the same bias update everywhere.
    const keys = [...r.counts.keys()];
    const n = keys.reduce((a, k) => a + r.counts.get(k)!.length, 0);
    const loads = new Float32Array(n);
    let off = 0;
    for (const k of keys) {
      loads.set(r.counts.get(k)!, off);
      off += r.counts.get(k)!.length;
    }
    await this.dp.allreduce(loads);
    const global = new Map<string, Int32Array>();
    off = 0;
    for (const k of keys) {
      const c = r.counts.get(k)!;
      global.set(k, Int32Array.from(loads.subarray(off, off + c.length), Math.round));
      off += c.length;
    }
    updateBiases(t.params, global, gamma);

    const m = await this.gatherF64([r.loss, r.mainLoss, r.mtpLoss, r.balance]);
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

  /** Every rank's values, rank-major, exactly (float64 through allgather). */
  private async gatherF64(v: number[]): Promise<number[]> {
    const out = new Float64Array(v.length * this.dp.size);
    await this.dp.allgather(Float64Array.from(v), out);
    return Array.from(out);
  }
}
