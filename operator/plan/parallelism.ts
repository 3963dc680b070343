// The parallelism plan: validation (every message names the spec field and the fix), the rank table, the stages each
// pipeline rank holds and the experts each EP rank holds.
//
// Rank order (also documented on RankTable): TP fastest, then EP, then PP, then DP:
//   rank = ((dp · PP + pp) · EP + ep) · TP + tp
// One EP group (same pp, dp, tp) is then a run of EP·TP consecutive ranks with stride TP, and pods take consecutive
// ranks, so an EP group fills whole pods and nodes.
import type { FieldError, ModelConfig, ParallelismSpec, RankCoords, RankTable, StageInfo } from './types.js';

const F = 'spec.parallelism';

export interface FleetFacts {
  gpusPerNode: number;
  /** GPUs usable by this job's pods (whole pods on usable nodes); undefined skips the world-size check. */
  usableGpus?: number;
  /** Why some GPUs are not usable, for the message. */
  excludedNote?: string;
}

export function worldSize(p: ParallelismSpec): number {
  return p.pipeline.stages * p.expert * p.data * p.tensor;
}

/** Model stages the layers are cut into: PP, or 2·PP under DualPipeV. */
export function modelStages(p: ParallelismSpec): number {
  return p.pipeline.schedule === 'DualPipeV' ? 2 * p.pipeline.stages : p.pipeline.stages;
}

export function validateParallelism(m: ModelConfig, p: ParallelismSpec, fleet: FleetFacts): FieldError[] {
  const errs: FieldError[] = [];
  const PP = p.pipeline.stages;
  const C = p.pipeline.microBatches;
  const s = p.pipeline.schedule;
  if (s === 'DualPipe') {
    if (PP % 2 !== 0) errs.push({ field: `${F}.pipeline.stages`, message: `DualPipe needs an even number of pipeline stages (rank r pairs stage r with stage PP−1−r), got ${PP}; use ${PP + 1} or ${Math.max(2, PP - 1)}, or schedule DualPipeV/1F1B` });
    if (C % 2 !== 0 || C < 2 * PP) errs.push({ field: `${F}.pipeline.microBatches`, message: `DualPipe needs an even number of micro-batches ≥ 2 × stages (${2 * PP}), half entering from each end; got ${C}, use ${Math.max(2 * PP, C + (C % 2))}` });
  } else if (s === 'DualPipeV') {
    if (C < 2 * PP) errs.push({ field: `${F}.pipeline.microBatches`, message: `DualPipeV needs micro-batches ≥ 2 × stages (${2 * PP}), got ${C}` });
  } else if (C < PP) {
    errs.push({ field: `${F}.pipeline.microBatches`, message: `1F1B needs micro-batches ≥ stages (${PP}) to fill the pipeline, got ${C}` });
  }
  const stages = modelStages(p);
  if (stages > m.num_hidden_layers) {
    errs.push({ field: `${F}.pipeline.stages`, message: `the model has ${m.num_hidden_layers} layers but ${s} with ${PP} stages cuts it into ${stages} pieces; every piece needs a layer, so use at most ${s === 'DualPipeV' ? Math.floor(m.num_hidden_layers / 2) : m.num_hidden_layers} stages` });
  }
  if (m.n_routed_experts % p.expert !== 0) {
    errs.push({ field: `${F}.expert`, message: `n_routed_experts (${m.n_routed_experts}) must be divisible by expert (${p.expert}) so every EP rank holds the same number of experts; use a divisor such as ${divisorsNear(m.n_routed_experts, p.expert)}` });
  }
  const g = fleet.gpusPerNode;
  const epGpus = p.expert * p.tensor;
  if (epGpus > g) {
    if (epGpus % g !== 0) {
      errs.push({ field: `${F}.expert`, message: `an EP group spanning nodes must fill whole nodes: expert × tensor (${epGpus}) must be a multiple of GPUs per node (${g})` });
    } else {
      const epNodes = epGpus / g;
      if (m.n_group % epNodes !== 0) {
        errs.push({ field: `${F}.expert`, message: `node-limited routing maps expert groups to nodes: the EP group spans ${epNodes} nodes, so n_group (${m.n_group}) must be a multiple of ${epNodes}; use expert = ${(m.n_group * g) / p.tensor} (one group per node) or a divisor of it` });
      }
    }
  }
  if (p.tensor > 1) {
    if (m.num_attention_heads % p.tensor !== 0) errs.push({ field: `${F}.tensor`, message: `num_attention_heads (${m.num_attention_heads}) must be divisible by tensor (${p.tensor})` });
    if (p.tensor > g) errs.push({ field: `${F}.tensor`, message: `tensor parallelism (${p.tensor}) must stay inside one node (${g} GPUs): it needs NVLink bandwidth` });
  }
  const world = worldSize(p);
  if (world % p.gpusPerPod !== 0) errs.push({ field: `${F}.gpusPerPod`, message: `world size ${world} (stages × expert × data × tensor) must be divisible by gpusPerPod (${p.gpusPerPod})` });
  if (p.gpusPerPod > g) errs.push({ field: `${F}.gpusPerPod`, message: `a pod runs on one node: gpusPerPod (${p.gpusPerPod}) must not exceed GPUs per node (${g})` });
  else if (g % p.gpusPerPod !== 0) errs.push({ field: `${F}.gpusPerPod`, message: `GPUs per node (${g}) must be divisible by gpusPerPod (${p.gpusPerPod}) or GPUs are stranded; use ${divisorsNear(g, p.gpusPerPod)}` });
  if (fleet.usableGpus !== undefined && world > fleet.usableGpus) {
    errs.push({ field: F, message: `needs ${world} GPUs (stages ${PP} × expert ${p.expert} × data ${p.data} × tensor ${p.tensor}) but the fleet has ${fleet.usableGpus} usable${fleet.excludedNote ? ` (${fleet.excludedNote})` : ''}; lower data or add nodes` });
  }
  return errs;
}

function divisorsNear(n: number, x: number): number {
  let best = 1;
  for (let d = 1; d <= n; d++) if (n % d === 0 && Math.abs(d - x) < Math.abs(best - x)) best = d;
  return best;
}

export function rankOf(c: RankCoords, p: ParallelismSpec): number {
  return ((c.dp * p.pipeline.stages + c.pp) * p.expert + c.ep) * p.tensor + c.tp;
}

export function coordsOf(rank: number, p: ParallelismSpec): RankCoords {
  const tp = rank % p.tensor;
  let r = (rank - tp) / p.tensor;
  const ep = r % p.expert;
  r = (r - ep) / p.expert;
  const pp = r % p.pipeline.stages;
  const dp = (r - pp) / p.pipeline.stages;
  return { pp, ep, dp, tp };
}

export function buildRankTable(p: ParallelismSpec): RankTable {
  const n = worldSize(p);
  const t: RankTable = { order: 'tp,ep,pp,dp', pp: [], ep: [], dp: [], tp: [], pod: [], local: [] };
  for (let r = 0; r < n; r++) {
    const c = coordsOf(r, p);
    t.pp.push(c.pp);
    t.ep.push(c.ep);
    t.dp.push(c.dp);
    t.tp.push(c.tp);
    t.pod.push(Math.floor(r / p.gpusPerPod));
    t.local.push(r % p.gpusPerPod);
  }
  return t;
}

/**
 * Layers of each model stage: as even as possible; the extra layers go to the middle stages first because stage 0
 * also holds the embedding and the last stage the output head and the MTP module.
 */
export function stageLayers(layers: number, stages: number): [number, number][] {
  const base = Math.floor(layers / stages);
  let extra = layers - base * stages;
  const sizes = new Array<number>(stages).fill(base);
  const order = [...Array.from({ length: Math.max(0, stages - 2) }, (_, i) => i + 1), stages - 1, 0].filter((v, i, a) => v >= 0 && a.indexOf(v) === i);
  for (const s of order) {
    if (extra === 0) break;
    sizes[s]!++;
    extra--;
  }
  const out: [number, number][] = [];
  let at = 0;
  for (const sz of sizes) {
    out.push([at, at + sz]);
    at += sz;
  }
  return out;
}

export function heldStages(p: ParallelismSpec, ppRank: number): number[] {
  const PP = p.pipeline.stages;
  if (p.pipeline.schedule === 'DualPipe') return PP === 1 ? [0] : [ppRank, PP - 1 - ppRank];
  if (p.pipeline.schedule === 'DualPipeV') return [ppRank, 2 * PP - 1 - ppRank];
  return [ppRank];
}

export function buildStages(m: ModelConfig, p: ParallelismSpec): StageInfo[] {
  const total = modelStages(p);
  const layers = stageLayers(m.num_hidden_layers, total);
  return Array.from({ length: p.pipeline.stages }, (_, r) => {
    const stages = heldStages(p, r);
    return {
      ppRank: r,
      stages,
      layers: stages.map((s) => layers[s]!),
      embedding: stages.includes(0),
      head: stages.includes(total - 1),
    };
  });
}

/** Routed experts of each EP rank: contiguous runs, so an expert group never straddles more nodes than needed. */
export function expertsByEpRank(m: ModelConfig, p: ParallelismSpec): number[][] {
  const per = m.n_routed_experts / p.expert;
  return Array.from({ length: p.expert }, (_, e) => Array.from({ length: per }, (_, k) => e * per + k));
}

export interface RankPeers {
  /** Pipeline neighbours (same ep, dp, tp); null at the ends. */
  prev: number | null;
  next: number | null;
  /** The EP group (same pp, dp, tp), the expert DP group (same pp, ep, tp), the ZeRO-1 group of non-expert
   * parameters (same pp, tp), the TP group (same pp, ep, dp). All include the rank itself. */
  expert: number[];
  expertData: number[];
  data: number[];
  tensor: number[];
}

/** Peers of a rank, computed from the rank order rather than stored (the table stays compact). */
export function rankPeers(rank: number, p: ParallelismSpec): RankPeers {
  const c = coordsOf(rank, p);
  const at = (o: Partial<RankCoords>) => rankOf({ ...c, ...o }, p);
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  return {
    prev: c.pp > 0 ? at({ pp: c.pp - 1 }) : null,
    next: c.pp < p.pipeline.stages - 1 ? at({ pp: c.pp + 1 }) : null,
    expert: range(p.expert).map((ep) => at({ ep })),
    expertData: range(p.data).map((dp) => at({ dp })),
    data: range(p.data).flatMap((dp) => range(p.expert).map((ep) => at({ dp, ep }))),
    tensor: range(p.tensor).map((tp) => at({ tp })),
  };
}
