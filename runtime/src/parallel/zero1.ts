// ZeRO-1 optimizer step per holder group (I/O code). Every parameter is held by a set of ranks (param-placement.ts); the
// parameters with the same holders form one flat vector, cut into one shard per holder. A step reduce-scatters each
// group's gradients over its holders (each receives the sum of its shard), scales, clips by the global norm (every
// element lives in exactly one shard of one rank, so the world sum of the shards' squares counts each once), steps
// an AdamW that holds only the shards' moments (its parameters are views of the real ones), and all-gathers the
// updated parameters over the same holders. Groups run one after another in one global order, so no two ranks ever
// wait on each other's groups in opposite orders.
import { Params } from '../model/params.js';
import { alloc32 } from '../model/tensor.js';
import { AdamW, learningRate, sumSquaresRef } from '../train/adamw.js';
import { scaleInPlace, sumSquares } from '../native/train-ops.js';
import { updateBiases } from '../train/balance.js';
import type { Trainer } from '../train/trainer.js';
import type { ProcessGroup } from '../comm/process-group.js';
import { shardPieces, zero1Layout, type FlatParam, type Piece, type Zero1Layout } from './zero1-layout.js';

export interface HolderGroup {
  /** Global ranks holding these parameters, ascending; the group's name in the job. */
  ranks: number[];
  /** The Gloo group over them; absent when this rank is the only holder. */
  group?: ProcessGroup;
  /** The parameters, in model order. */
  names: string[];
}

export interface Zero1Part {
  holders: HolderGroup;
  /** This rank's index among the holders. */
  rank: number;
  layout: Zero1Layout;
  pieces: Piece[];
  /** Reduced gradient of this rank's shard; the AdamW parameters' gradients are views of it. */
  gradShard: Float32Array;
}

export class Zero1 {
  readonly parts: Zero1Part[];
  /** Every shard piece of this rank, all groups. */
  readonly pieces: Piece[];
  readonly shardOpt: AdamW;
  readonly native: boolean;
  /** Scratch for one group's padded flat vector and one shard (gradients in, parameters out). */
  private readonly flat: Float32Array;
  private readonly shard: Float32Array;

  constructor(readonly trainer: Trainer, readonly world: ProcessGroup, holders: HolderGroup[]) {
    const P = trainer.params;
    const covered = new Set<string>();
    this.parts = holders.map((h) => {
      const rank = h.ranks.indexOf(world.ranks[world.rank]!);
      if (rank < 0) throw new Error(`ZeRO-1: rank ${world.rank} is not among holders [${h.ranks.join(', ')}]`);
      if ((h.group?.size ?? 1) !== h.ranks.length) throw new Error(`ZeRO-1: holders [${h.ranks.join(', ')}] need a group of ${h.ranks.length}`);
      const flat: FlatParam[] = h.names.map((name) => {
        if (covered.has(name)) throw new Error(`ZeRO-1: parameter ${name} is in two holder groups`);
        covered.add(name);
        const p = P.get(name);
        return { name, length: p.data.length, decay: p.decay };
      });
      const layout = zero1Layout(flat, h.ranks.length);
      return { holders: h, rank, layout, pieces: shardPieces(layout, flat, rank), gradShard: new Float32Array(layout.shardLen) };
    });
    const missing = P.list().filter((p) => !covered.has(p.name)).map((p) => p.name);
    if (missing.length) throw new Error(`ZeRO-1: no holder group for ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', …' : ''}`);
    this.pieces = this.parts.flatMap((p) => p.pieces);
    this.flat = new Float32Array(Math.max(0, ...this.parts.map((p) => p.layout.shardLen * p.holders.ranks.length)));
    this.shard = new Float32Array(Math.max(0, ...this.parts.map((p) => p.layout.shardLen)));
    const shardParams = new Params(alloc32);
    for (const part of this.parts) {
      for (const pc of part.pieces) {
        const name = `${pc.name}[${pc.from}:${pc.to}]`;
        shardParams.map.set(name, {
          name, shape: [pc.to - pc.from], decay: pc.decay, data: P.get(pc.name).data.subarray(pc.from, pc.to),
          grad: part.gradShard.subarray(pc.shardOffset, pc.shardOffset + pc.to - pc.from),
        });
      }
    }
    // The single process's optimizer arithmetic on the addon when its context has it (the same bits either way).
    this.native = trainer.ctx.native === true;
    this.shardOpt = new AdamW(shardParams, trainer.options.optimizer, this.native);
  }

  /** One line per holder group: what a checkpoint's shards were cut with. */
  get signature(): string {
    return this.parts.map((p) => `${p.holders.ranks.join('-')}:${p.layout.total}/${p.layout.shardLen}`).join(';');
  }

  /** Sums every holder's gradients (times `scale`), clips, steps; returns the global gradient norm and the lr. */
  async step(scale: number): Promise<{ gradNorm: number; lr: number }> {
    const t = this.trainer;
    let ss = 0;
    for (const part of this.parts) {
      const { layout, holders, gradShard } = part;
      const padded = layout.shardLen * holders.ranks.length;
      const flat = this.flat.subarray(0, padded);
      flat.fill(0, layout.total);
      for (const name of holders.names) flat.set(t.params.get(name).grad, layout.offsets.get(name)!);
      if (holders.group) await holders.group.reduceScatter(flat, new Array<number>(holders.ranks.length).fill(layout.shardLen), gradShard);
      else gradShard.set(flat);
      if (this.native) {
        if (scale !== 1) scaleInPlace(gradShard, scale);
        ss = sumSquares(gradShard, ss);
        continue;
      }
      if (scale !== 1) for (let i = 0; i < gradShard.length; i++) gradShard[i] *= scale;
      ss = sumSquaresRef(gradShard, ss);
    }
    const gradNorm = Math.sqrt((await gatherF64(this.world, [ss])).reduce((a, b) => a + b, 0));
    const cfg = t.options.optimizer;
    if (cfg.clip > 0 && gradNorm > cfg.clip) {
      const f = cfg.clip / gradNorm;
      for (const { gradShard } of this.parts) {
        if (this.native) scaleInPlace(gradShard, f);
        else for (let i = 0; i < gradShard.length; i++) gradShard[i] *= f;
      }
    }
    const lr = learningRate(cfg, t.step);
    this.shardOpt.update(t.step, lr);
    await this.gatherParams();
    return { gradNorm, lr };
  }

  /** Every holder's shard of the parameters to every holder (after an update, or after restoring the shards). */
  async gatherParams(): Promise<void> {
    const P = this.trainer.params;
    for (const { layout, holders, pieces } of this.parts) {
      const shard = this.shard.subarray(0, layout.shardLen);
      shard.fill(0);
      for (const pc of pieces) shard.set(P.get(pc.name).data.subarray(pc.from, pc.to), pc.shardOffset);
      const flat = this.flat.subarray(0, layout.shardLen * holders.ranks.length);
      if (holders.group) await holders.group.allgather(shard, flat);
      else flat.set(shard);
      for (const name of holders.names) {
        const p = P.get(name), o = layout.offsets.get(name)!;
        p.data.set(flat.subarray(o, o + p.data.length));
      }
    }
  }

  /** Bytes of optimizer state and ZeRO-1 buffers this rank keeps (moments, reduced gradient shards, scratch). */
  get bytes(): { moments: number; zeroBuffers: number } {
    let moments = 0;
    for (const m of this.shardOpt.m.values()) moments += m.byteLength;
    for (const v of this.shardOpt.v.values()) moments += v.byteLength;
    let zeroBuffers = this.flat.byteLength + this.shard.byteLength;
    for (const p of this.parts) zeroBuffers += p.gradShard.byteLength;
    return { moments, zeroBuffers };
  }
}

/** Every rank's values, rank-major, exactly (float64 through allgather). */
export async function gatherF64(g: ProcessGroup, v: number[]): Promise<number[]> {
  const out = new Float64Array(v.length * g.size);
  await g.allgather(Float64Array.from(v), out);
  return Array.from(out);
}

/**
 * Sums each MoE layer's expert loads over the world (keys: every MoE layer of the model, the same list on every
 * rank), then moves the router biases this rank holds. Returns the global loads of every layer.
 */
export async function globalBiasUpdate(t: Trainer, world: ProcessGroup, names: string[], local: Map<string, Int32Array>,
  experts: number): Promise<Map<string, Int32Array>> {
  const loads = new Float32Array(names.length * experts);
  names.forEach((k, i) => {
    const c = local.get(k);
    if (c) loads.set(c, i * experts);
  });
  await world.allreduce(loads);
  const global = new Map<string, Int32Array>();
  names.forEach((k, i) => global.set(k, Int32Array.from(loads.subarray(i * experts, (i + 1) * experts), Math.round)));
  const held = new Map([...global].filter(([k]) => t.params.buffers.has(`${k}.gate.e_score_correction_bias`)));
  updateBiases(t.params, held, t.options.gamma);
  return global;
}
