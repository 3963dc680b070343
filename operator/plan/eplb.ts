// EPLB, the expert-parallel load balancer of deepseek-ai/EPLB (REFERENCE.md §5), as pure TypeScript.
// Arithmetic follows the reference's float32 tensors (Math.fround after every operation) and its tie rules: items are
// taken by load descending with the first index winning ties, the lightest non-full pack with the lowest index wins,
// and the replica goes to the first expert with the largest load per replica.
// Group loads are summed left to right; torch may sum in another order, which only matters for non-integral loads.

export interface EplbResult {
  /** [layers][replicas]: logical expert of each physical slot; slot p lives on GPU ⌊p / (replicas / gpus)⌋. */
  phy2log: number[][];
  /** [layers][experts][maxReplicas]: physical slots of each logical expert, −1 padded. */
  log2phy: number[][][];
  /** [layers][experts]: replica count of each logical expert. */
  logcnt: number[][];
}

/** Packs items into `packs` packs of exactly items/packs items each; returns pack index and rank inside the pack. */
export function balancedPacking(weights: readonly number[], packs: number): { pack: number[]; rank: number[] } {
  const n = weights.length;
  const per = n / packs;
  if (per === 1) return { pack: weights.map((_, i) => i), rank: weights.map(() => 0) };
  const order = weights.map((_, i) => i).sort((a, b) => weights[b]! - weights[a]! || a - b);
  const packWeight = new Array<number>(packs).fill(0);
  const packItems = new Array<number>(packs).fill(0);
  const pack = new Array<number>(n).fill(-1);
  const rank = new Array<number>(n).fill(-1);
  for (const item of order) {
    let best = -1;
    for (let p = 0; p < packs; p++) {
      if (packItems[p]! < per && (best < 0 || packWeight[p]! < packWeight[best]!)) best = p;
    }
    pack[item] = best;
    rank[item] = packItems[best]!;
    packWeight[best] = Math.fround(packWeight[best]! + weights[item]!);
    packItems[best]!++;
  }
  return { pack, rank };
}

/** Adds replicas one at a time to the expert with the largest load per replica (first index wins ties). */
export function replicateExperts(weights: readonly number[], physical: number): { phy2log: number[]; rank: number[]; logcnt: number[] } {
  const logical = weights.length;
  const phy2log = Array.from({ length: physical }, (_, i) => i);
  const rank = new Array<number>(physical).fill(0);
  const logcnt = new Array<number>(logical).fill(1);
  for (let i = logical; i < physical; i++) {
    let best = 0;
    let bestVal = -Infinity;
    for (let e = 0; e < logical; e++) {
      const v = Math.fround(weights[e]! / logcnt[e]!);
      if (v > bestVal) {
        bestVal = v;
        best = e;
      }
    }
    phy2log[i] = best;
    rank[i] = logcnt[best]!;
    logcnt[best]!++;
  }
  return { phy2log, rank, logcnt };
}

function inverse(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((v, i) => (inv[v] = i));
  return inv;
}

/** One layer of the hierarchical policy: returns physical→logical, replica rank of each slot, logical counts. */
function hierarchicalLayer(w: readonly number[], replicas: number, groups: number, nodes: number, gpus: number) {
  const experts = w.length;
  const groupSize = experts / groups;
  const groupsPerNode = groups / nodes;
  const perGpu = replicas / gpus;
  const expertsPerNode = experts / nodes;
  const slotsPerNode = replicas / nodes;

  // Step 1: pack groups onto nodes; renumber experts so that node n's groups come in pack order.
  const groupLoad = Array.from({ length: groups }, (_, g) => {
    let s = 0;
    for (let j = 0; j < groupSize; j++) s = Math.fround(s + w[g * groupSize + j]!);
    return s;
  });
  const gp = balancedPacking(groupLoad, nodes);
  const log2mlog = new Array<number>(experts);
  for (let g = 0; g < groups; g++) {
    for (let j = 0; j < groupSize; j++) log2mlog[g * groupSize + j] = (gp.pack[g]! * groupsPerNode + gp.rank[g]!) * groupSize + j;
  }
  const mlog2log = inverse(log2mlog);

  const phy2log = new Array<number>(replicas);
  const phyRank = new Array<number>(replicas);
  const mlogcnt = new Array<number>(experts);
  for (let n = 0; n < nodes; n++) {
    // Step 2: replicate inside the node (node-local expert numbering).
    const local = Array.from({ length: expertsPerNode }, (_, m) => w[mlog2log[n * expertsPerNode + m]!]!);
    const rep = replicateExperts(local, slotsPerNode);
    rep.logcnt.forEach((c, m) => (mlogcnt[n * expertsPerNode + m] = c));
    // Step 3: pack the node's replicas onto its GPUs; a replica's slot = gpu · perGpu + rank in that GPU's pack.
    const load = rep.phy2log.map((m) => Math.fround(local[m]! / rep.logcnt[m]!));
    const pk = balancedPacking(load, gpus / nodes);
    const phy2pphy = pk.pack.map((p, i) => p * perGpu + pk.rank[i]!);
    const pphy2phy = inverse(phy2pphy);
    for (let q = 0; q < slotsPerNode; q++) {
      const phy = pphy2phy[q]!;
      phy2log[n * slotsPerNode + q] = mlog2log[rep.phy2log[phy]! + n * expertsPerNode]!;
      phyRank[n * slotsPerNode + q] = rep.rank[phy]!;
    }
  }
  const logcnt = Array.from({ length: experts }, (_, e) => mlogcnt[log2mlog[e]!]!);
  return { phy2log, phyRank, logcnt };
}

/** Precondition failures, each naming the argument and the rule (empty when the call is valid). */
export function eplbErrors(load: readonly (readonly number[])[], replicas: number, groups: number, nodes: number, gpus: number): string[] {
  const errs: string[] = [];
  const experts = load[0]?.length ?? 0;
  if (load.length === 0 || experts === 0) errs.push('load must be a non-empty [layers][experts] array');
  if (load.some((row) => row.length !== experts)) errs.push(`load rows must all have ${experts} experts`);
  if (load.some((row) => row.some((v) => !Number.isFinite(v) || v < 0))) errs.push('load values must be finite and ≥ 0');
  for (const [name, v] of [['replicas', replicas], ['groups', groups], ['nodes', nodes], ['gpus', gpus]] as const) {
    if (!Number.isInteger(v) || v < 1) errs.push(`${name} must be a positive integer, got ${v}`);
  }
  if (errs.length) return errs;
  if (replicas < experts) errs.push(`replicas (${replicas}) must be ≥ experts (${experts})`);
  if (replicas % gpus !== 0) errs.push(`replicas (${replicas}) must be a multiple of gpus (${gpus})`);
  // Like the reference, groups and nodes only constrain the hierarchical policy (groups % nodes == 0).
  if (groups % nodes === 0) {
    if (experts % groups !== 0) errs.push(`experts (${experts}) must be divisible by groups (${groups})`);
    if (gpus % nodes !== 0) errs.push(`gpus (${gpus}) must be a multiple of nodes (${nodes})`);
  }
  if (groups % nodes === 0 && errs.length === 0) {
    if (experts % nodes !== 0 || replicas % nodes !== 0 || replicas / nodes < experts / nodes) {
      errs.push(`replicas (${replicas}) must give every node at least its ${experts / nodes} experts`);
    }
  }
  return errs;
}

/**
 * rebalance_experts of deepseek-ai/EPLB. load: [layers][experts] (e.g. tokens routed per expert, moving average).
 * Hierarchical policy when groups % nodes == 0, else the global policy (hierarchical with one group on one node).
 */
export function rebalanceExperts(load: readonly (readonly number[])[], replicas: number, groups: number, nodes: number, gpus: number): EplbResult {
  const errs = eplbErrors(load, replicas, groups, nodes, gpus);
  if (errs.length) throw new Error(`rebalanceExperts: ${errs.join('; ')}`);
  const hierarchical = groups % nodes === 0;
  const layers = load.map((row) => {
    const w = row.map((v) => Math.fround(v));
    return hierarchical ? hierarchicalLayer(w, replicas, groups, nodes, gpus) : hierarchicalLayer(w, replicas, 1, 1, gpus);
  });
  let maxcnt = 1;
  for (const l of layers) for (const c of l.logcnt) maxcnt = Math.max(maxcnt, c);
  const log2phy = layers.map((l) => {
    const table = l.logcnt.map(() => new Array<number>(maxcnt).fill(-1));
    l.phy2log.forEach((e, p) => (table[e]![l.phyRank[p]!] = p));
    return table;
  });
  return { phy2log: layers.map((l) => l.phy2log), log2phy, logcnt: layers.map((l) => l.logcnt) };
}
