// Builds one rank's engine from a layout (I/O wiring shared by main.ts, the tests' worker and the benchmark): the
// placement, a trainer holding only this rank's parameters, the Gloo groups (pipeline, expert all-to-all, and one
// per holder set), and the pipeline or data-parallel engine over them.
import type { BatchSource } from '../data/sampler.js';
import type { Tokenizer } from '../data/tokenizer.js';
import { modelConfig } from '../model/config.js';
import { alloc32 } from '../model/tensor.js';
import type { TrainOptions } from '../train/options.js';
import { Trainer, type StepMetrics } from '../train/trainer.js';
import { DataParallelTrainer } from './dp-trainer.js';
import { buildHeldParams, paramSpecs } from './held-params.js';
import type { Dist } from '../comm/init.js';
import type { RankTableLike } from './rank-groups.js';
import type { EpOptions } from './moe-ep.js';
import { ParamPlacement, type DistLayout } from './param-placement.js';
import { PipelineTrainer } from './pp-trainer.js';
import type { ProcessGroup } from '../comm/process-group.js';
import { wireOf } from '../comm/wire.js';
import type { HolderGroup, Zero1 } from './zero1.js';

export interface EngineGroups {
  world: ProcessGroup;
  /** This rank's pipeline, in stage order (PP > 1). */
  pp?: ProcessGroup;
  /** This rank among the data-parallel replicas of its pipeline rank (EP × DP of them): its slice of the batch. */
  data: { rank: number; size: number };
  /**
   * Expert parallelism: the all-to-all group (EP ranks in order) and the experts each hosts; under a pipeline a
   * second communicator of the same ranks for the backward's all-to-alls, so that paired chunks overlap.
   */
  ep?: { group: ProcessGroup; back?: ProcessGroup; experts: number[][]; options: EpOptions };
  /** One per set of ranks holding some of this rank's parameters. */
  holders: HolderGroup[];
}

export interface Engine {
  readonly zero: Zero1;
  trainStep(): Promise<StepMetrics>;
}

/** Every holder set of the model, in one global order: ranks → parameter names (model order). */
export function holderSets(pl: ParamPlacement): Map<string, { ranks: number[]; names: string[] }> {
  const sets = new Map<string, { ranks: number[]; names: string[] }>();
  for (const p of paramSpecs(pl.config).list()) {
    const ranks = pl.holders(p.name);
    if (ranks.length === 0) throw new Error(`placement: no rank holds ${p.name}`);
    const key = ranks.join('-');
    const s = sets.get(key);
    if (s) s.names.push(p.name);
    else sets.set(key, { ranks, names: [p.name] });
  }
  return new Map([...sets].sort(([, a], [, b]) => {
    for (let i = 0; i < Math.min(a.ranks.length, b.ranks.length); i++) if (a.ranks[i] !== b.ranks[i]) return a.ranks[i]! - b.ranks[i]!;
    return a.ranks.length - b.ranks.length;
  }));
}

/**
 * Joins the groups of `rank`. Every rank calls this: the pipeline and all-to-all groups partition the world, and the
 * holder groups are joined in one global order, so no rank waits on a group whose members wait elsewhere.
 */
export async function connectEngineGroups(dist: Dist, pl: ParamPlacement, ep?: EpOptions): Promise<EngineGroups> {
  const rank = dist.rank, world = dist.world;
  if (pl.layout.ep > 1 && !ep) throw new Error(`expert parallelism ${pl.layout.ep}: give the EP wire formats (dispatch, combine)`);
  const whole = (ranks: number[]): boolean => ranks.length === world.size;
  const join = (name: string, ranks: number[]): Promise<ProcessGroup> => (whole(ranks) ? Promise.resolve(world) : dist.group({ name, ranks }));
  const ppRanks = Array.from({ length: pl.worldSize }, (_, r) => r)
    .filter((r) => pl.table.ep[r] === pl.table.ep[rank] && pl.table.dp[r] === pl.table.dp[rank])
    .sort((a, b) => pl.table.pp[a]! - pl.table.pp[b]!);
  const pp = pl.layout.pp > 1 ? await join(`pp-${ppRanks.join('-')}`, ppRanks) : undefined;
  const epRanks = pl.epRanks(rank);
  const epGroup = ep && pl.layout.ep > 1 ? await join(`ep-${epRanks.join('-')}`, epRanks) : undefined;
  // The EP groups partition the world, so every rank joins its backward group right after its forward one.
  const epBack = epGroup && pp ? await dist.group({ name: `ep-back-${epRanks.join('-')}`, ranks: epRanks }) : undefined;
  const holders: HolderGroup[] = [];
  for (const [key, s] of holderSets(pl)) {
    if (!s.ranks.includes(rank)) continue;
    const group = s.ranks.length > 1 ? await join(`hold-${key}`, s.ranks) : undefined;
    holders.push({ ranks: s.ranks, names: s.names, ...(group ? { group } : {}) });
  }
  const data = pl.dataRanks(rank);
  return {
    world, holders, data: { rank: data.indexOf(rank), size: data.length },
    ...(pp ? { pp } : {}), ...(epGroup && ep ? { ep: { group: epGroup, ...(epBack ? { back: epBack } : {}), experts: pl.experts, options: ep } } : {}),
  };
}

export interface EngineSpec {
  options: TrainOptions;
  tokenizer: Tokenizer;
  /** The token stream (pre-training's window sampler) or a batch source (GRPO's prompt sampler). */
  tokens: Int32Array | BatchSource;
  layout: DistLayout;
  /** The plan's rank table (default: the planner's order for the layout). */
  table?: RankTableLike;
  /** Expert-parallel wire formats (used when layout.ep > 1); `backward` defaults to the precision's (wire.ts). */
  ep?: EpOptions;
  /** DualPipe's paired chunks run interleaved (default: on unless MOE_DIST_OVERLAP=0). */
  overlap?: boolean;
}

/** Every distinct group of a rank (traffic reports). */
export function engineGroupList(g: EngineGroups): ProcessGroup[] {
  const out: ProcessGroup[] = [];
  for (const x of [g.world, g.pp, g.ep?.group, g.ep?.back, ...g.holders.map((h) => h.group)]) if (x && !out.includes(x)) out.push(x);
  return out;
}

export async function startEngine(dist: Dist, s: EngineSpec): Promise<{ trainer: Trainer; engine: Engine; placement: ParamPlacement; groups: EngineGroups }> {
  const config = modelConfig(s.options.preset, s.options.overrides);
  const placement = new ParamPlacement(config, s.layout, s.table);
  if (placement.worldSize !== dist.size) throw new Error(`layout has ${placement.worldSize} ranks, the job has ${dist.size}`);
  const trainer = new Trainer(s.options, s.tokenizer, s.tokens, undefined,
    (c, rng) => buildHeldParams(c, alloc32, rng, (name) => placement.holds(dist.rank, name)));
  const wire = wireOf(s.options.precision);
  const ep = { dispatch: 'fp8', combine: 'bf16', ...s.ep, backward: s.ep?.backward ?? wire } satisfies EpOptions;
  const groups = await connectEngineGroups(dist, placement, s.layout.ep > 1 ? ep : undefined);
  const engine: Engine = groups.pp
    ? new PipelineTrainer(trainer, groups, {
      schedule: s.layout.schedule, microBatches: s.layout.microBatches, wire, overlap: s.overlap ?? process.env.MOE_DIST_OVERLAP !== '0',
    })
    : new DataParallelTrainer(trainer, groups);
  return { trainer, engine, placement, groups };
}
