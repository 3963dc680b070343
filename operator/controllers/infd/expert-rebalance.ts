// Pure EPLB bookkeeping around the planner's rebalanceExperts (operator/plan/eplb.ts, the one implementation): turn
// the leaders' cumulative load reports (read with contract/reports.ts) into per-interval deltas (a new startedAt = a
// restarted pod), smooth them exponentially, measure balance (Σ over layers of the busiest GPU's load / Σ of the mean GPU load, i.e.
// how much longer a step takes than under perfect balance), and decide whether a new placement is worth publishing.
import { eplbErrors, rebalanceExperts } from '../../plan/eplb.js';
import { isLoadTable, type ExpertPlacementDoc } from '../../contract/index.js';

export interface Reading {
  startedAt: string;
  counts: number[][];
}

const sameShape = (a: number[][], b: number[][]) => a.length === b.length && a.every((row, i) => row.length === b[i]!.length);

/**
 * Tokens counted since the previous reading. Without one, or when the pod restarted (new startedAt) or a counter went
 * backwards, everything counted since startedAt is new.
 */
export function loadDelta(prev: Reading | undefined, cur: { startedAt: string; counts: number[][] }): number[][] {
  if (!prev || prev.startedAt !== cur.startedAt || !sameShape(prev.counts, cur.counts)) return cur.counts.map((r) => [...r]);
  if (cur.counts.some((row, l) => row.some((c, e) => c < prev.counts[l]![e]!))) return cur.counts.map((r) => [...r]);
  return cur.counts.map((row, l) => row.map((c, e) => c - prev.counts[l]![e]!));
}

export function addInto(acc: number[][] | undefined, m: number[][]): number[][] {
  if (!acc) return m.map((r) => [...r]);
  return acc.map((row, l) => row.map((v, e) => v + m[l]![e]!));
}

/** Exponential moving average: α·previous + (1−α)·delta; the delta alone when there is no previous of that shape. */
export function smooth(prev: number[][] | undefined, delta: number[][], alpha: number): number[][] {
  const round = (x: number) => Math.round(x * 1000) / 1000;
  if (!prev || !sameShape(prev, delta)) return delta.map((r) => r.map(round));
  return delta.map((row, l) => row.map((v, e) => round(alpha * prev[l]![e]! + (1 - alpha) * v)));
}

/** Load per GPU of each layer under a placement: an expert's load is split evenly over its replicas. */
export function gpuLoads(load: number[][], phy2log: number[][], gpus: number): number[][] {
  return load.map((row, l) => {
    const slots = phy2log[l]!;
    const cnt = new Array<number>(row.length).fill(0);
    for (const e of slots) cnt[e]!++;
    const per = slots.length / gpus;
    const out = new Array<number>(gpus).fill(0);
    slots.forEach((e, p) => (out[Math.floor(p / per)]! += row[e]! / cnt[e]!));
    return out;
  });
}

/** Without a published placement: experts sharded contiguously over the GPUs, no replicas (as in training). */
export function contiguousPhy2log(layers: number, experts: number): number[][] {
  // Expressed with one slot per expert, GPU g = floor(slot / (experts / gpus)): requires experts % gpus == 0.
  return Array.from({ length: layers }, () => Array.from({ length: experts }, (_, e) => e));
}

/** Σ_layers max GPU load / Σ_layers mean GPU load (1 = perfect balance). */
export function balanceOf(load: number[][], phy2log: number[][], gpus: number): number {
  const per = gpuLoads(load, phy2log, gpus);
  let max = 0;
  let mean = 0;
  for (const row of per) {
    max += Math.max(...row);
    mean += row.reduce((a, b) => a + b, 0) / row.length;
  }
  return mean > 0 ? max / mean : 1;
}

export interface RebalanceInput {
  load: number[][];
  current?: ExpertPlacementDoc;
  slots: number;
  groups: number;
  nodes: number;
  gpus: number;
  minImprovement: number;
}

export type RebalanceDecision =
  | { ok: true; publish: boolean; before: number; after: number; placement: Required<Omit<ExpertPlacementDoc, 'version'>> }
  | { ok: false; error: string };

const r4 = (x: number) => Math.round(x * 10_000) / 10_000;

export function decideRebalance(x: RebalanceInput): RebalanceDecision {
  const layers = x.load.length;
  const experts = x.load[0]?.length ?? 0;
  const errs = eplbErrors(x.load, x.slots, x.groups, x.nodes, x.gpus);
  if (errs.length) return { ok: false, error: errs.join('; ') };
  const cur = x.current && x.current.phy2log.length === layers && x.current.gpus === x.gpus && x.current.phy2log.every((r) => r.length === x.slots && r.every((e) => e < experts)) ? x.current : undefined;
  const before = cur ? balanceOf(x.load, cur.phy2log, x.gpus) : experts % x.gpus === 0 ? balanceOf(x.load, contiguousPhy2log(layers, experts), x.gpus) : NaN;
  const res = rebalanceExperts(x.load, x.slots, x.groups, x.nodes, x.gpus);
  const after = balanceOf(x.load, res.phy2log, x.gpus);
  const publish = !cur || after < before * (1 - x.minImprovement);
  return {
    ok: true,
    publish,
    before: Number.isFinite(before) ? r4(before) : r4(after),
    after: r4(after),
    placement: { gpus: x.gpus, slotsPerGpu: x.slots / x.gpus, phy2log: res.phy2log, logcnt: res.logcnt, balance: { before: Number.isFinite(before) ? r4(before) : r4(after), after: r4(after) } },
  };
}

/** The operator-private EPLB state kept in <d>-placement (survives an operator restart). */
export interface EplbState {
  smoothed: Record<string, number[][]>;
}

export function parseState(text: string | undefined): EplbState {
  try {
    const v = text ? (JSON.parse(text) as EplbState) : undefined;
    if (v && typeof v.smoothed === 'object' && v.smoothed) {
      const smoothed: Record<string, number[][]> = {};
      for (const [k, m] of Object.entries(v.smoothed)) if (isLoadTable(m)) smoothed[k] = m;
      return { smoothed };
    }
  } catch {
    /* start over */
  }
  return { smoothed: {} };
}
