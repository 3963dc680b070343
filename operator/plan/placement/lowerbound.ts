// Lower bounds on the traffic of any placement that keeps every EP group (unit) inside one leaf when it fits.
//
// Cross-leaf bytes: a leaf holding c_pp units of pipeline stage pp (out of D replicas) pays at least
//   ½·w·Σ_{pp=−1..P−1} |c_pp − c_pp+1|  with c_−1 = c_P = 0  (pipeline edges leaving it; each cut edge is shared
//                                       by two leaves; the virtual edges at both ends add exactly w·D over all leaves,
//                                       which is subtracted once at the end)
// + Σ_{0 < c_pp < D} h_pp             (a stage split over λ ≥ 2 leaves makes its ZeRO-1 rings cross leaves λ times)
// so the cut is at least the cheapest way to split the P×D units into leaves of the available sizes, found by two
// small dynamic programmes (best c-vector per part size, then best part sizes per leaf).
import { lagrangianCut } from './lagrange.js';
import { leafLevel, levelBandwidths, type ClusterModel } from './topology.js';
import type { TrafficVolumes } from './traffic.js';
import { leafSlots, unitShape } from './units.js';
import type { ParallelismSpec } from '../types.js';

export interface LowerBound {
  crossLeafBytes: number;
  weightedCost: number;
  /** Leaf capacities in units used by the bound (empty when units do not fit a leaf). */
  unitsPerLeaf: number[];
  note?: string;
}

/** Edge and hyperedge weights of the unit graph (bytes crossing a leaf boundary). */
export function unitWeights(p: ParallelismSpec, v: TrafficVolumes): { w: number; h: number[] } {
  return {
    w: v.ppBytesPerEdge * p.expert * p.tensor,
    h: v.dpNonExpertHop.map((ne, pp) => p.tensor * ne + p.expert * p.tensor * v.dpExpertHop[pp]!),
  };
}

/** minCost[s]: least cost of one leaf holding s units, virtual end edges included. */
export function partCosts(PP: number, D: number, maxUnits: number, w: number, h: number[]): number[] {
  // state: after stage pp, units used u, count c at stage pp.
  const INF = Infinity;
  let cur: number[][] = Array.from({ length: maxUnits + 1 }, () => new Array<number>(D + 1).fill(INF));
  for (let c = 0; c <= Math.min(D, maxUnits); c++) cur[c]![c] = 0.5 * w * c + (c > 0 && c < D ? h[0]! : 0);
  for (let pp = 1; pp < PP; pp++) {
    const next: number[][] = Array.from({ length: maxUnits + 1 }, () => new Array<number>(D + 1).fill(INF));
    for (let u = 0; u <= maxUnits; u++) {
      for (let prev = 0; prev <= D; prev++) {
        const base = cur[u]![prev]!;
        if (base === INF) continue;
        for (let c = 0; c <= D && u + c <= maxUnits; c++) {
          const cost = base + 0.5 * w * Math.abs(c - prev) + (c > 0 && c < D ? h[pp]! : 0);
          if (cost < next[u + c]![c]!) next[u + c]![c] = cost;
        }
      }
    }
    cur = next;
  }
  return cur.map((row) => Math.min(...row.map((v, c) => v + 0.5 * w * c)));
}

/** Greedy full-fill of g ranks into domains of each level: bytes per level of an all-to-all with `per` bytes/pair. */
export function allToAllBest(g: number, per: number, caps: number[]): number[] {
  const out = new Array<number>(caps.length + 1).fill(0);
  let prevShared = 0;
  caps.forEach((cap, l) => {
    const full = Math.floor(g / cap);
    const rest = g - full * cap;
    const shared = full * cap * (cap - 1) + rest * (rest - 1);
    // "Shares level l" means the fastest shared level is ≤ l, so the count only grows with l.
    const cum = Math.max(prevShared, Math.min(shared, g * (g - 1)));
    out[l] = (cum - prevShared) * per;
    prevShared = cum;
  });
  out[caps.length] = (g * (g - 1) - prevShared) * per;
  return out;
}

/** `upperCut`: the leaf cut of a known placement, which lets the Lagrangian refinement size its steps. */
export function lowerBound(cluster: ClusterModel, p: ParallelismSpec, v: TrafficVolumes, upperCut?: number): LowerBound {
  const shape = unitShape(p);
  const bw = levelBandwidths(cluster).map((g) => g * 1e9);
  const leaf = leafLevel(cluster);
  // GPUs of the largest domain at each level (the best an EP group can find).
  const caps = cluster.levels.map((_, l) => {
    const count = new Map<number, number>();
    for (const n of cluster.nodes) count.set(n.domain[l]!, (count.get(n.domain[l]!) ?? 0) + n.gpus);
    return Math.max(1, ...count.values());
  });
  let weighted = 0;
  let forcedCross = 0;
  for (let pp = 0; pp < p.pipeline.stages; pp++) {
    const best = allToAllBest(shape.gpus, v.epBytesPerPeer[pp]!, caps);
    const units = p.data * p.tensor; // one all-to-all per (dp, tp)
    best.forEach((b, l) => {
      weighted += (units * b) / bw[l]!;
      if (l > leaf) forcedCross += units * b;
    });
  }
  const { w, h } = unitWeights(p, v);
  let ppdpTotal = (p.pipeline.stages - 1) * p.data * w;
  for (let pp = 0; pp < p.pipeline.stages; pp++) {
    ppdpTotal += p.tensor * p.expert * p.data * v.dpNonExpertHop[pp]! + p.expert * p.tensor * p.data * v.dpExpertHop[pp]!;
  }
  const slots = leafSlots(cluster, p.gpusPerPod);
  const unitsPerLeaf = shape.pods > 0 ? slots.map((s) => Math.floor(s.slots.length / shape.pods)).filter((k) => k > 0) : [];
  const U = p.pipeline.stages * p.data;
  if (shape.pods === 0 || unitsPerLeaf.length === 0 || unitsPerLeaf.reduce((a, b) => a + b, 0) < U) {
    return { crossLeafBytes: forcedCross, weightedCost: weighted, unitsPerLeaf: [], note: 'EP groups do not fit whole into leaves; the bound counts only their all-to-all' };
  }
  const kMax = Math.max(...unitsPerLeaf);
  const part = partCosts(p.pipeline.stages, p.data, Math.min(kMax, U), w, h);
  // best[u]: least cost placing u units in the leaves seen so far.
  let best = new Array<number>(U + 1).fill(Infinity);
  best[0] = 0;
  for (const k of unitsPerLeaf) {
    const next = best.slice();
    for (let u = 0; u <= U; u++) {
      if (best[u] === Infinity) continue;
      for (let s = 1; s <= Math.min(k, U - u); s++) next[u + s] = Math.min(next[u + s]!, best[u]! + part[s]!);
    }
    best = next;
  }
  let cut = Math.max(0, best[U]! - w * p.data);
  if (upperCut !== undefined && upperCut > cut) cut = Math.max(cut, Math.min(upperCut, lagrangianCut(p.pipeline.stages, p.data, unitsPerLeaf, w, h, upperCut)));
  // Cut bytes cross at least the level above leaf; the rest of the pipeline/ring bytes at best use the fastest level.
  weighted += cut / bw[leaf + 1]! + Math.max(0, ppdpTotal - cut) / bw[0]!;
  return { crossLeafBytes: forcedCross + cut, weightedCost: weighted, unitsPerLeaf };
}
