// Which rank holds which parameter (pure). A rank holds the layers of the pipeline stages it runs (the planner's
// heldStages: DualPipe r and PP−1−r, DualPipeV r and 2PP−1−r, 1F1B r; layers per stage from the planner's
// stageLayers), the embedding where stage 0 or the MTP modules read it, the final norm, head and MTP modules on the
// last stage, and of the routed experts only those its EP rank hosts (the planner's expertsByEpRank). A parameter's
// holders are every rank that holds it: its gradient is reduced, and its AdamW moments sharded, over exactly them.
import { buildRankTable, expertsByEpRank, heldStages, stageLayers as planStageLayers } from '../../../operator/plan/parallelism.js';
import type { ScheduleName } from '../../../operator/plan/schedule/ops.js';
import type { ParallelismSpec } from '../../../operator/plan/types.js';
import type { RuntimeModelConfig } from '../model/config.js';
import type { RankTableLike } from './rank-groups.js';

export interface DistLayout {
  schedule: ScheduleName;
  /** Pipeline ranks, expert-parallel ranks (the all-to-all group), data-parallel replicas of an EP group. */
  pp: number;
  ep: number;
  dp: number;
  microBatches: number;
}

export interface Coords { pp: number; ep: number; dp: number }

/** Model stages a schedule cuts the layers into. */
export function modelStageCount(schedule: ScheduleName, pp: number): number {
  return schedule === 'DualPipeV' ? 2 * pp : pp;
}

/** Layers [from, to) of model stage `s` (the planner's split: extra layers go to the middle stages first). */
export function stageLayerRange(layers: number, stages: number, s: number): { from: number; to: number } {
  if (stages > layers) throw new Error(`pipeline: ${stages} stages need at least ${stages} layers, the model has ${layers}`);
  const [from, to] = planStageLayers(layers, stages)[s]!;
  return { from, to };
}

/** The planner's view of a layout (tensor parallelism 1, one rank per pod). */
export function parallelismSpec(L: DistLayout): ParallelismSpec {
  // ZB1P holds one stage per rank, as 1F1B: heldStages only distinguishes the two dual schedules.
  const schedule = L.schedule === 'ZB1P' ? '1F1B' : L.schedule;
  return { pipeline: { stages: L.pp, schedule, microBatches: L.microBatches }, expert: L.ep, data: L.dp, tensor: 1, gpusPerPod: 1 };
}

/** What a parameter name is, for placement. */
type Kind = { kind: 'embed' } | { kind: 'last'; expert?: number } | { kind: 'layer'; layer: number; expert?: number };

function kindOf(c: RuntimeModelConfig, name: string): Kind {
  if (name === 'model.embed_tokens.weight') return { kind: 'embed' };
  if (name === 'model.norm.weight' || name === 'lm_head.weight') return { kind: 'last' };
  const m = /^model\.layers\.(\d+)\.(.*)$/.exec(name);
  if (!m) throw new Error(`placement: parameter ${name} belongs to no layer, embedding or head`);
  const layer = Number(m[1]);
  const e = /^mlp\.experts\.(\d+)\./.exec(m[2]!);
  const expert = e ? { expert: Number(e[1]) } : {};
  // MTP modules live with the head; their routed experts are placed like any other layer's.
  return layer >= c.num_hidden_layers ? { kind: 'last', ...expert } : { kind: 'layer', layer, ...expert };
}

export class ParamPlacement {
  readonly spec: ParallelismSpec;
  readonly table: RankTableLike;
  readonly stages: number;
  /** Routed experts of each EP rank (the planner's placement). */
  readonly experts: number[][];
  private readonly expertOwner: Int32Array;
  private readonly layerStage: Int32Array;

  constructor(readonly config: RuntimeModelConfig, readonly layout: DistLayout, table?: RankTableLike) {
    this.spec = parallelismSpec(layout);
    this.table = table ?? buildRankTable(this.spec);
    const n = layout.pp * layout.ep * layout.dp;
    if (this.table.pp.length !== n) {
      throw new Error(`placement: the rank table has ${this.table.pp.length} ranks, pipeline ${layout.pp} × expert ${layout.ep} × data ${layout.dp} = ${n}`);
    }
    if (config.n_routed_experts % layout.ep !== 0) {
      throw new Error(`expert parallelism: ${config.n_routed_experts} routed experts do not divide over EP=${layout.ep} ranks; set parallelism.expert to a divisor`);
    }
    this.stages = modelStageCount(layout.schedule, layout.pp);
    this.experts = expertsByEpRank(config, this.spec);
    this.expertOwner = new Int32Array(config.n_routed_experts).fill(-1);
    this.experts.forEach((list, q) => list.forEach((e) => { this.expertOwner[e] = q; }));
    this.layerStage = new Int32Array(config.num_hidden_layers);
    for (let s = 0; s < this.stages; s++) {
      const { from, to } = stageLayerRange(config.num_hidden_layers, this.stages, s);
      for (let l = from; l < to; l++) this.layerStage[l] = s;
    }
  }

  get worldSize(): number {
    return this.table.pp.length;
  }

  coords(rank: number): Coords {
    return { pp: this.table.pp[rank]!, ep: this.table.ep[rank]!, dp: this.table.dp[rank]! };
  }

  /** Model stages pipeline rank `pp` runs. */
  stagesOf(pp: number): number[] {
    return heldStages(this.spec, pp);
  }

  /** The stages that need a parameter. */
  private stagesNeeding(k: Kind): number[] {
    const last = this.stages - 1;
    if (k.kind === 'embed') return this.config.num_nextn_predict_layers > 0 ? [0, last] : [0];
    if (k.kind === 'last') return [last];
    return [this.layerStage[k.layer]!];
  }

  holds(rank: number, name: string): boolean {
    const k = kindOf(this.config, name);
    const c = this.coords(rank);
    const mine = this.stagesOf(c.pp);
    if (!this.stagesNeeding(k).some((s) => mine.includes(s))) return false;
    if (k.kind !== 'embed' && k.expert !== undefined) {
      const owner = this.expertOwner[k.expert];
      if (owner === undefined || owner < 0) throw new Error(`placement: expert ${k.expert} of ${name} is not placed on any EP rank`);
      return owner === c.ep;
    }
    return true;
  }

  /** Global ranks holding `name`, ascending. */
  holders(name: string): number[] {
    return Array.from({ length: this.worldSize }, (_, r) => r).filter((r) => this.holds(r, name));
  }

  /** The data-parallel replicas of a pipeline rank: every rank with the same pp coordinate (EP × DP of them). */
  dataRanks(rank: number): number[] {
    const pp = this.table.pp[rank];
    return Array.from({ length: this.worldSize }, (_, r) => r).filter((r) => this.table.pp[r] === pp);
  }

  /** The all-to-all group of a rank: same pipeline and data coordinates, in EP-rank order. */
  epRanks(rank: number): number[] {
    const { pp, dp } = this.coords(rank);
    return Array.from({ length: this.worldSize }, (_, r) => r)
      .filter((r) => this.table.pp[r] === pp && this.table.dp[r] === dp)
      .sort((a, b) => this.table.ep[a]! - this.table.ep[b]!);
  }
}
