// ZeRO-1 optimizer step over a process group (I/O code): gradients reduce-scattered (each rank receives the sum of
// its shard), scaled, clipped by the global norm, stepped by an AdamW that holds only the shard's moments (its
// parameters are views of the real ones), then the updated parameters all-gathered.
import { Params } from '../model/params.js';
import { alloc32 } from '../model/tensor.js';
import { AdamW, learningRate } from '../train/adamw.js';
import { updateBiases } from '../train/balance.js';
import type { Trainer } from '../train/trainer.js';
import type { ProcessGroup } from './process-group.js';
import { shardPieces, zero1Layout, type FlatParam, type Piece, type Zero1Layout } from './zero1-layout.js';

export class Zero1 {
  readonly layout: Zero1Layout;
  readonly pieces: Piece[];
  readonly shardOpt: AdamW;
  private readonly flatGrad: Float32Array;
  private readonly gradShard: Float32Array;
  private readonly paramShard: Float32Array;
  private readonly flatParams: Float32Array;

  constructor(readonly trainer: Trainer, readonly group: ProcessGroup) {
    const flat: FlatParam[] = trainer.params.list().map((p) => ({ name: p.name, length: p.data.length, decay: p.decay }));
    this.layout = zero1Layout(flat, group.size);
    this.pieces = shardPieces(this.layout, flat, group.rank);
    const padded = this.layout.shardLen * group.size;
    this.flatGrad = new Float32Array(padded);
    this.gradShard = new Float32Array(this.layout.shardLen);
    this.paramShard = new Float32Array(this.layout.shardLen);
    this.flatParams = new Float32Array(padded);
    const shardParams = new Params(alloc32);
    for (const pc of this.pieces) {
      const p = trainer.params.get(pc.name);
      const name = `${pc.name}[${pc.from}:${pc.to}]`;
      shardParams.map.set(name, {
        name, shape: [pc.to - pc.from], decay: pc.decay, data: p.data.subarray(pc.from, pc.to),
        grad: this.gradShard.subarray(pc.shardOffset, pc.shardOffset + pc.to - pc.from),
      });
    }
    this.shardOpt = new AdamW(shardParams, trainer.opt.cfg);
  }

  /** Sums every rank's gradients (times `scale`), clips, steps; returns the global gradient norm and the lr. */
  async step(scale: number): Promise<{ gradNorm: number; lr: number }> {
    const t = this.trainer;
    for (const p of t.params.list()) this.flatGrad.set(p.grad, this.layout.offsets.get(p.name)!);
    await this.group.reduceScatter(this.flatGrad, new Array<number>(this.group.size).fill(this.layout.shardLen), this.gradShard);
    if (scale !== 1) for (let i = 0; i < this.gradShard.length; i++) this.gradShard[i] *= scale;
    let ss = 0;
    for (let i = 0; i < this.gradShard.length; i++) ss += this.gradShard[i] * this.gradShard[i];
    const gradNorm = Math.sqrt((await gatherF64(this.group, [ss])).reduce((a, b) => a + b, 0));
    const clip = t.opt.cfg.clip;
    if (clip > 0 && gradNorm > clip) {
      const f = clip / gradNorm;
      for (let i = 0; i < this.gradShard.length; i++) this.gradShard[i] *= f;
    }
    const lr = learningRate(t.opt.cfg, t.step);
    this.shardOpt.update(t.step, lr);
    await this.gatherParams();
    return { gradNorm, lr };
  }

  /** Every rank's shard of the parameters to everyone (after an update, or after restoring the shards). */
  async gatherParams(): Promise<void> {
    const t = this.trainer;
    for (const pc of this.pieces) this.paramShard.set(t.params.get(pc.name).data.subarray(pc.from, pc.to), pc.shardOffset);
    await this.group.allgather(this.paramShard, this.flatParams);
    for (const p of t.params.list()) {
      const o = this.layout.offsets.get(p.name)!;
      p.data.set(this.flatParams.subarray(o, o + p.data.length));
    }
  }
}

/** Every rank's values, rank-major, exactly (float64 through allgather). */
export async function gatherF64(g: ProcessGroup, v: number[]): Promise<number[]> {
  const out = new Float64Array(v.length * g.size);
  await g.allgather(Float64Array.from(v), out);
  return Array.from(out);
}

/** Sums each MoE layer's expert loads over the group (keys in `names` order), then moves the router biases. */
export async function globalBiasUpdate(t: Trainer, g: ProcessGroup, names: string[], local: Map<string, Int32Array>,
  experts: number): Promise<Map<string, Int32Array>> {
  const loads = new Float32Array(names.length * experts);
  names.forEach((k, i) => {
    const c = local.get(k);
    if (c) loads.set(c, i * experts);
  });
  await g.allreduce(loads);
  const global = new Map<string, Int32Array>();
  names.forEach((k, i) => global.set(k, Int32Array.from(loads.subarray(i * experts, (i + 1) * experts), Math.round)));
  updateBiases(t.params, global, t.options.gamma);
  return global;
}

/** The MoE layers' count keys in model order (main layers, then MTP), from the router bias buffers. */
export function moeLayerKeys(t: Trainer): string[] {
  const suffix = '.gate.e_score_correction_bias';
  return [...t.params.buffers.keys()].filter((k) => k.endsWith(suffix)).map((k) => k.slice(0, -suffix.length));
}
