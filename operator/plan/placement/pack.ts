// Topology-aware placement ("Pack"): ranks → pods → nodes so that the heavy traffic stays on fast links.
// 1. Units (EP groups, EP·TP consecutive ranks = whole pods) are never split across leaves when a whole leaf can
//    take them; inside a leaf their pods take consecutive slots, i.e. the fewest nodes and NVLink domains.
// 2. Which units share a leaf is chosen among orders that walk the P×D grid of (stage, replica) in blocks of b
//    stages (b = 1 … P; snake order inside a block keeps pipeline neighbours and ZeRO-1 peers adjacent), scored by
//    the leaf-crossing bytes of the unit graph (lowerbound.ts); then pairwise unit swaps between leaves improve it.
// 3. When pods do not tile units, pods are placed in rank order on consecutive slots.
import { unitWeights } from './lowerbound.js';
import type { ClusterModel } from './topology.js';
import type { TrafficVolumes } from './traffic.js';
import type { ParallelismSpec } from '../types.js';
import { leafSlots, unitShape, unitId } from './units.js';

export interface Placement {
  /** Node index (into cluster.nodes) of every pod. */
  podNode: number[];
  explanations: string[];
}

export function rankNodes(podNode: readonly number[], p: ParallelismSpec): Int32Array {
  const out = new Int32Array(podNode.length * p.gpusPerPod);
  for (let r = 0; r < out.length; r++) out[r] = podNode[Math.floor(r / p.gpusPerPod)]!;
  return out;
}

/** Orders of unit ids: blocks of b stages, replicas inside a block, snake over stages. */
export function candidateOrders(PP: number, D: number): number[][] {
  const orders: number[][] = [];
  for (let b = 1; b <= PP; b++) {
    if (b > 1 && PP % b !== 0 && b !== PP) continue;
    const order: number[] = [];
    for (let start = 0; start < PP; start += b) {
      const stages = Array.from({ length: Math.min(b, PP - start) }, (_, i) => start + i);
      for (let dp = 0; dp < D; dp++) {
        const run = dp % 2 === 0 ? stages : [...stages].reverse();
        for (const pp of run) order.push(unitId(pp, dp, PP));
      }
    }
    orders.push(order);
  }
  return orders;
}

/** Leaf-crossing bytes of an assignment of units to leaves (unitLeaf[u] = leaf index). */
export function unitCut(unitLeaf: ArrayLike<number>, PP: number, D: number, w: number, h: number[]): number {
  let cost = 0;
  for (let dp = 0; dp < D; dp++) {
    for (let pp = 0; pp + 1 < PP; pp++) if (unitLeaf[unitId(pp, dp, PP)] !== unitLeaf[unitId(pp + 1, dp, PP)]) cost += w;
  }
  for (let pp = 0; pp < PP; pp++) {
    const leaves = new Set<number>();
    for (let dp = 0; dp < D; dp++) leaves.add(unitLeaf[unitId(pp, dp, PP)]!);
    if (leaves.size > 1) cost += leaves.size * h[pp]!;
  }
  return cost;
}

/** Fills leaves in the given unit order; returns unit → leaf index, or null when some unit would not fit whole. */
function fillLeaves(order: number[], unitPods: number, leafCap: number[]): Int32Array | null {
  const unitLeaf = new Int32Array(order.length).fill(-1);
  const free = leafCap.slice();
  let leaf = 0;
  for (const u of order) {
    while (leaf < free.length && free[leaf]! < unitPods) leaf++;
    if (leaf >= free.length) return null;
    unitLeaf[u] = leaf;
    free[leaf]! -= unitPods;
  }
  return unitLeaf;
}

/**
 * Swaps units between leaves, or moves a unit into a leaf's free room, while that lowers the cut (first improvement,
 * bounded passes). Free room is modelled as empty units (ids ≥ the real units) without edges. The change of a step
 * is computed locally: the ≤ 4 pipeline edges at the two units and the ring crossings of their stages.
 */
function improveBySwaps(unitLeaf: Int32Array, PP: number, D: number, w: number, h: number[], freeUnits: number[], budgetMs: number): number {
  const t0 = Date.now();
  const U = unitLeaf.length;
  const leaves = freeUnits.length;
  const all = new Int32Array(U + freeUnits.reduce((a, b) => a + b, 0));
  all.set(unitLeaf);
  let k = U;
  freeUnits.forEach((n, leaf) => {
    for (let i = 0; i < n; i++) all[k++] = leaf;
  });
  const count = new Int32Array(PP * leaves);
  const distinct = new Int32Array(PP);
  for (let u = 0; u < U; u++) {
    const pp = u % PP;
    if (count[pp * leaves + all[u]!]!++ === 0) distinct[pp]!++;
  }
  const ring = (pp: number) => (distinct[pp]! > 1 ? distinct[pp]! * h[pp]! : 0);
  const edges = (u: number) => {
    if (u >= U) return 0;
    const pp = u % PP;
    let c = 0;
    if (pp > 0 && all[u - 1] !== all[u]) c += w;
    if (pp + 1 < PP && all[u + 1] !== all[u]) c += w;
    return c;
  };
  const move = (u: number, to: number) => {
    if (u < U) {
      const pp = u % PP;
      if (--count[pp * leaves + all[u]!]! === 0) distinct[pp]!--;
      if (count[pp * leaves + to]!++ === 0) distinct[pp]!++;
    }
    all[u] = to;
  };
  const local = (a: number, b: number) => {
    const shared = b < U && Math.abs(a - b) === 1 && Math.floor(a / PP) === Math.floor(b / PP) && all[a] !== all[b] ? w : 0;
    const pa = a % PP;
    const pb = b < U ? b % PP : -1;
    return edges(a) + edges(b) - shared + ring(pa) + (pb >= 0 && pb !== pa ? ring(pb) : 0);
  };
  for (let pass = 0; pass < 8; pass++) {
    let improved = false;
    for (let a = 0; a < U && Date.now() - t0 < budgetMs; a++) {
      for (let b = a + 1; b < all.length; b++) {
        const la = all[a]!;
        const lb = all[b]!;
        if (la === lb) continue;
        const before = local(a, b);
        move(a, lb);
        move(b, la);
        if (local(a, b) < before - 1e-9 * Math.max(1, before)) improved = true;
        else {
          move(a, la);
          move(b, lb);
        }
      }
    }
    if (!improved) break;
  }
  unitLeaf.set(all.subarray(0, U));
  return unitCut(unitLeaf, PP, D, w, h);
}

export function packPlacement(cluster: ClusterModel, p: ParallelismSpec, v: TrafficVolumes, opts: { swapBudgetMs?: number } = {}): Placement {
  const leaves = leafSlots(cluster, p.gpusPerPod);
  const shape = unitShape(p);
  const pods = (shape.gpus * shape.PP * shape.D) / p.gpusPerPod;
  const explanations: string[] = [];
  const allSlots = leaves.flatMap((l) => l.slots);
  if (allSlots.length < pods) throw new Error(`packPlacement: ${pods} pods but only ${allSlots.length} pod slots`);

  if (shape.pods > 0) {
    const cap = leaves.map((l) => l.slots.length);
    const { w, h } = unitWeights(p, v);
    let best: { leafOf: Int32Array; cost: number } | null = null;
    for (const order of candidateOrders(shape.PP, shape.D)) {
      const leafOf = fillLeaves(order, shape.pods, cap);
      if (!leafOf) continue;
      const cost = unitCut(leafOf, shape.PP, shape.D, w, h);
      if (!best || cost < best.cost) best = { leafOf, cost };
    }
    if (best) {
      const units = best.leafOf.length;
      const used = new Array<number>(leaves.length).fill(0);
      for (const lf of best.leafOf) used[lf]!++;
      const free = cap.map((c, i) => Math.floor(c / shape.pods) - used[i]!);
      best.cost = improveBySwaps(best.leafOf, shape.PP, shape.D, w, h, free, opts.swapBudgetMs ?? 200);
      // Materialise: units of each leaf take consecutive slots, in unit id order (= rank order).
      const podNode = new Array<number>(pods);
      const next = new Array<number>(leaves.length).fill(0);
      for (let u = 0; u < units; u++) {
        const lf = best.leafOf[u]!;
        for (let k = 0; k < shape.pods; k++) podNode[u * shape.pods + k] = leaves[lf]!.slots[next[lf]!++]!;
      }
      const leavesUsed = new Set(best.leafOf).size;
      explanations.push(`each EP group (${shape.gpus} GPUs) sits inside one leaf; ${units} groups over ${leavesUsed} leaves`);
      return { podNode, explanations };
    }
    explanations.push(`EP groups of ${shape.gpus} GPUs do not fit whole into the free leaves; they are placed in rank order and some cross leaves`);
  } else {
    explanations.push(`pods of ${p.gpusPerPod} GPUs do not tile EP groups of ${shape.gpus} GPUs; pods are placed in rank order`);
  }
  return { podNode: allSlots.slice(0, pods), explanations };
}
