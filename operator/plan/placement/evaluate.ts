// Scores a placement: every byte of the per-step traffic is charged to the fastest topology level its two GPUs share,
// then weighted by that level's per-GPU bandwidth.
import { rankOf } from '../parallelism.js';
import { leafLevel, levelBandwidths, sharedLevel, type ClusterModel } from './topology.js';
import type { TrafficVolumes } from './traffic.js';
import type { ParallelismSpec } from '../types.js';

export interface PlacementCost {
  /** [level][kind] bytes per step; levels as levelNames(model) (last = core). */
  ep: number[];
  pp: number[];
  dp: number[];
  crossLeafBytes: number;
  /** Σ bytes / (GB/s · 1e9): link-seconds per step summed over all transfers. */
  weightedCost: number;
  /** Slowest rank's Σ sent bytes / bandwidth (seconds per step). */
  maxRankSeconds: number;
}

export function evaluatePlacement(rankNode: ArrayLike<number>, cluster: ClusterModel, p: ParallelismSpec, v: TrafficVolumes): PlacementCost {
  const nLevels = cluster.levels.length + 1;
  const bw = levelBandwidths(cluster).map((g) => g * 1e9);
  const ep = new Array<number>(nLevels).fill(0);
  const pp = new Array<number>(nLevels).fill(0);
  const dp = new Array<number>(nLevels).fill(0);
  const world = rankNode.length;
  const rankSec = new Float64Array(world);
  const add = (kind: number[], from: number, to: number, bytes: number, senderShare = bytes) => {
    if (bytes === 0 || from === to) return;
    const lv = sharedLevel(cluster, rankNode[from]!, rankNode[to]!);
    kind[lv]! += bytes;
    rankSec[from]! += senderShare / bw[lv]!;
  };

  // EP all-to-all, aggregated per node pair inside each group (a group = ranks g + tp + k·TP, k < EP).
  const E = p.expert;
  const TP = p.tensor;
  const PP = p.pipeline.stages;
  const stride = E * TP;
  const nodesOf: number[] = [];
  const countOf = new Map<number, number>();
  for (let g = 0; g < world; g += stride) {
    const ppOfGroup = Math.floor(g / stride) % PP;
    const per = v.epBytesPerPeer[ppOfGroup]!;
    for (let tp = 0; tp < TP; tp++) {
      nodesOf.length = 0;
      countOf.clear();
      for (let k = 0; k < E; k++) {
        const n = rankNode[g + tp + k * TP]!;
        const c = countOf.get(n);
        if (c === undefined) nodesOf.push(n);
        countOf.set(n, (c ?? 0) + 1);
      }
      for (const na of nodesOf) {
        const ca = countOf.get(na)!;
        let sendSec = 0;
        for (const nb of nodesOf) {
          const cb = countOf.get(nb)!;
          const pairs = na === nb ? ca * (ca - 1) : ca * cb;
          if (pairs === 0) continue;
          const lv = sharedLevel(cluster, na, nb);
          ep[lv]! += pairs * per;
          sendSec += ((na === nb ? cb - 1 : cb) * per) / bw[lv]!;
        }
        for (let k = 0; k < E; k++) if (rankNode[g + tp + k * TP] === na) rankSec[g + tp + k * TP]! += sendSec;
      }
    }
  }

  // PP point-to-point between neighbouring pipeline ranks (half of the edge's bytes go each way).
  for (let r = 0; r < world; r++) {
    if (Math.floor(r / stride) % PP === PP - 1) continue;
    const lv = sharedLevel(cluster, rankNode[r]!, rankNode[r + stride]!);
    pp[lv]! += v.ppBytesPerEdge;
    rankSec[r]! += v.ppBytesPerEdge / 2 / bw[lv]!;
    rankSec[r + stride]! += v.ppBytesPerEdge / 2 / bw[lv]!;
  }

  // ZeRO-1 rings, ordered by node position (as NCCL orders rings by topology).
  const ring = (members: number[], hop: number) => {
    if (members.length < 2 || hop === 0) return;
    members.sort((a, b) => rankNode[a]! - rankNode[b]! || a - b);
    for (let i = 0; i < members.length; i++) add(dp, members[i]!, members[(i + 1) % members.length]!, hop);
  };
  for (let ppr = 0; ppr < p.pipeline.stages; ppr++) {
    for (let tp = 0; tp < p.tensor; tp++) {
      const all: number[] = [];
      for (let d = 0; d < p.data; d++) for (let e = 0; e < E; e++) all.push(rankOf({ pp: ppr, ep: e, dp: d, tp }, p));
      ring(all, v.dpNonExpertHop[ppr]!);
      for (let e = 0; e < E; e++) {
        ring(Array.from({ length: p.data }, (_, d) => rankOf({ pp: ppr, ep: e, dp: d, tp }, p)), v.dpExpertHop[ppr]!);
      }
    }
  }

  const leaf = leafLevel(cluster);
  let crossLeafBytes = 0;
  let weightedCost = 0;
  for (let l = 0; l < nLevels; l++) {
    if (l > leaf) crossLeafBytes += ep[l]! + pp[l]! + dp[l]!;
    weightedCost += (ep[l]! + pp[l]! + dp[l]!) / bw[l]!;
  }
  let maxRankSeconds = 0;
  for (let r = 0; r < world; r++) maxRankSeconds = Math.max(maxRankSeconds, rankSec[r]!);
  return { ep, pp, dp, crossLeafBytes, weightedCost, maxRankSeconds };
}
