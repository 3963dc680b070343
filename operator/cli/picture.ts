// Pure builders of what moectl draws: the fleet map (spine → leaf → node, with the pipeline stage and data replica of
// the pods on each node) and the schedule timeline (simulated with F=1, B=2, W=1, F&B=3).
import { coordsOf } from '../plan/parallelism.js';
import { fullSchedule } from '../plan/schedule/generate.js';
import { simulateSchedule, type TimedOp } from '../plan/schedule/simulate.js';
import { buildCluster, natural } from '../plan/placement/topology.js';
import type { NodeLike, TopologySpec, TrainingPlan } from '../plan/types.js';

export interface MapNode {
  name: string;
  /** Pipeline stage and data replica of the first pod on the node; null when the job has no pod there. */
  unit: { pp: number; dp: number } | null;
  excluded: boolean;
}

export interface MapLeaf {
  name: string;
  nodes: MapNode[];
}

export interface MapSpine {
  name: string;
  leaves: MapLeaf[];
}

/** Groups nodes by the two slowest levels of the topology (spine, leaf when the default levels are used). */
export function fleetMap(plan: TrainingPlan, nodes: readonly NodeLike[], topology: TopologySpec): MapSpine[] {
  const cluster = buildCluster(nodes, topology, {});
  const L = topology.levels.length;
  const top = L - 1;
  const mid = Math.max(0, L - 2);
  const onNode = new Map<string, { pp: number; dp: number }>();
  for (const pod of plan.placement) {
    if (onNode.has(pod.node)) continue;
    const c = coordsOf(pod.firstRank, plan.parallelism);
    onNode.set(pod.node, { pp: c.pp, dp: c.dp });
  }
  const excluded = new Set(plan.excludedNodes.map((e) => e.name));
  const spines: MapSpine[] = [];
  const label = (n: NodeLike, lv: number) => n.labels[topology.levels[lv]!.nodeLabel] ?? '?';
  // Every node of the fleet once: usable ones and those the topology itself leaves out (cordoned, tainted, …).
  const inFleet = new Set([...cluster.nodes.map((n) => n.name), ...cluster.excluded.map((e) => e.name)]);
  const ordered = nodes.filter((n) => inFleet.has(n.name));
  ordered.sort((a, b) => natural(label(a, top), label(b, top)) || natural(label(a, mid), label(b, mid)) || natural(a.name, b.name));
  for (const n of ordered) {
    const sName = label(n, top);
    const lName = label(n, mid);
    let s = spines.find((x) => x.name === sName);
    if (!s) spines.push((s = { name: sName, leaves: [] }));
    let l = s.leaves.find((x) => x.name === lName);
    if (!l) s.leaves.push((l = { name: lName, nodes: [] }));
    l.nodes.push({ name: n.name, unit: onNode.get(n.name) ?? null, excluded: excluded.has(n.name) });
  }
  return spines;
}

export interface Timeline {
  stepTime: number;
  ranks: TimedOp[][];
  bubbles: number[];
}

export const TIMELINE_DURATIONS = { F: 1, B: 2, W: 1, FB: 3 } as const;

export function scheduleTimeline(plan: TrainingPlan): Timeline {
  const s = plan.parallelism.pipeline;
  const sim = simulateSchedule(fullSchedule(s.schedule, s.stages, s.microBatches), TIMELINE_DURATIONS);
  if (!sim.ok) throw new Error(`schedule deadlocks: ${sim.deadlock}`);
  return { stepTime: sim.stepTime, ranks: sim.ranks.map((r) => r.timeline), bubbles: sim.ranks.map((r) => r.bubble) };
}
