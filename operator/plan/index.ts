// The planner's single entry point for the operator, the CLI and the runtime: MoETrainingJob spec pieces + Nodes +
// ClusterTopology → a JSON-serialisable plan, or field errors. Pure: no I/O.
import { randomPlacement, spreadPlacement } from './placement/baselines.js';
import { evaluatePlacement, type PlacementCost } from './placement/evaluate.js';
import { readJobSpec } from './job.js';
import { lowerBound } from './placement/lowerbound.js';
import { memoryPerGpu } from './memory.js';
import { countParams } from './model-size.js';
import { buildRankTable, buildStages, expertsByEpRank, validateParallelism, worldSize } from './parallelism.js';
import { packPlacement, rankNodes } from './placement/pack.js';
import { checkRules, ruleLevelErrors } from './placement/rules.js';
import { LABEL_HOSTNAME } from './labels.js';
import { buildCluster, levelBandwidths, levelNames, topologyErrors, type ClusterModel } from './placement/topology.js';
import { trafficVolumes } from './placement/traffic.js';
import type { FieldError, LevelTraffic, NodeLike, PlacementSummary, PlanResult, Toleration, TopologySpec } from './types.js';

export * from './types.js';

export interface PlanInput {
  /** spec.model: {preset} or {config}. */
  model: unknown;
  /** spec.parallelism (CRD defaults are applied for missing fields). */
  parallelism: unknown;
  /** spec.training (sequenceLength, globalBatchSize or microBatchSize). */
  training?: unknown;
  /** spec.packing (strategy, excludeNodes, rules). */
  packing?: unknown;
  nodes: readonly NodeLike[];
  /** ClusterTopology spec. */
  topology: TopologySpec;
  /** Nodes to leave out in addition to spec.packing.excludeNodes (e.g. after a node failure). */
  excludeNodes?: readonly string[];
  tolerations?: readonly Toleration[];
  /** Also score the spread and random baselines (the CLI and the benchmark do). */
  baselines?: boolean;
}

export const BUBBLE_FORMULAS: Record<string, string> = {
  '1F1B': '(PP−1)(F+B)',
  ZB1P: '(PP−1)(F+B−2W)',
  DualPipe: '(PP/2−1)(F&B+B−3W)',
  DualPipeV: '(PP−1)(F&B+B−3W) with PP ranks (2·PP stages)',
};

export function summarise(cluster: ClusterModel, cost: PlacementCost, bound: { crossLeafBytes: number; weightedCost: number }, strategy: PlacementSummary['strategy'], explanations: string[]): PlacementSummary {
  const names = levelNames(cluster);
  const bws = levelBandwidths(cluster);
  const traffic: LevelTraffic[] = names.map((level, i) => ({
    level,
    gbpsPerGpu: bws[i]!,
    bytesPerStep: cost.ep[i]! + cost.pp[i]! + cost.dp[i]!,
    ep: cost.ep[i]!,
    pp: cost.pp[i]!,
    dp: cost.dp[i]!,
  }));
  return {
    strategy,
    traffic,
    crossLeafBytes: cost.crossLeafBytes,
    crossLeafLowerBound: bound.crossLeafBytes,
    weightedCost: cost.weightedCost,
    weightedLowerBound: bound.weightedCost,
    score: cost.weightedCost > 0 ? Math.min(1, bound.weightedCost / cost.weightedCost) : 1,
    estCommSecondsPerStep: cost.maxRankSeconds,
    explanations,
  };
}

export function planTrainingJob(input: PlanInput): PlanResult {
  const errors: FieldError[] = topologyErrors(input.topology, 'topology.spec');
  const job = readJobSpec({ model: input.model, parallelism: input.parallelism, training: input.training ?? {}, packing: input.packing ?? {} });
  if (!job.ok) {
    errors.push(...job.errors);
    // Report impossible parallelism in the same answer as the other field errors.
    if (job.partial) errors.push(...validateParallelism(job.partial.model, job.partial.parallelism, { gpusPerNode: input.topology?.gpusPerNode ?? 8 }));
  }
  if (errors.length || !job.ok) return { ok: false, errors };
  const { model, parallelism: p, training, packing } = job.job;

  const exclude = [...packing.excludeNodes, ...(input.excludeNodes ?? [])];
  const cluster = buildCluster(input.nodes, input.topology, {
    excludeNodes: exclude,
    minGpus: p.gpusPerPod,
    ...(input.tolerations ? { tolerations: input.tolerations } : {}),
  });
  const usable = cluster.nodes.reduce((s, n) => s + Math.floor(n.gpus / p.gpusPerPod) * p.gpusPerPod, 0);
  const gpusPerNode = input.topology.gpusPerNode ?? cluster.gpusPerNode ?? 8;
  const excludedNote = cluster.excluded.length ? `${cluster.excluded.length} nodes excluded, e.g. ${cluster.excluded[0]!.name}: ${cluster.excluded[0]!.reason}` : undefined;
  errors.push(...validateParallelism(model, p, { gpusPerNode: gpusPerNode || 8, usableGpus: usable, ...(excludedNote ? { excludedNote } : {}) }));
  errors.push(...ruleLevelErrors(packing.rules, cluster));
  if (errors.length) return { ok: false, errors };

  const volumes = trafficVolumes(model, p, training);
  const packed = packing.strategy === 'Spread' ? { podNode: spreadPlacement(cluster, p), explanations: ['Spread: pods go to the emptiest nodes like the default scheduler; expect more cross-leaf traffic'] } : packPlacement(cluster, p, volumes);
  const rn = rankNodes(packed.podNode, p);
  const rules = checkRules(packing.rules, cluster, p, rn);
  if (rules.errors.length) return { ok: false, errors: rules.errors };
  const cost = evaluatePlacement(rn, cluster, p, volumes);
  const bound = lowerBound(cluster, p, volumes, cost.crossLeafBytes);
  const explanations = [...packed.explanations, ...rules.explanations];
  if (bound.note) explanations.push(bound.note);
  if (cost.crossLeafBytes > 0 && bound.crossLeafBytes > 0) {
    explanations.push(`cross-leaf traffic is ${((cost.crossLeafBytes / bound.crossLeafBytes - 1) * 100).toFixed(1)}% above its lower bound`);
  }
  if (cluster.excluded.length) explanations.push(`${cluster.excluded.length} node(s) excluded (see excludedNodes)`);
  if (input.baselines) {
    for (const [name, pods] of [['spread', spreadPlacement(cluster, p, 1)], ['random', randomPlacement(cluster, p, 2)]] as const) {
      const c = evaluatePlacement(rankNodes(pods, p), cluster, p, volumes);
      explanations.push(`baseline ${name}: cross-leaf ${(c.crossLeafBytes / Math.max(1, cost.crossLeafBytes)).toFixed(2)}× this plan, weighted cost ${(c.weightedCost / cost.weightedCost).toFixed(2)}×`);
    }
  }
  const world = worldSize(p);
  const pc = countParams(model);
  const plan = {
    version: 1 as const,
    model: { ...model, ...(job.job.preset ? { preset: job.job.preset } : {}) },
    parallelism: p,
    worldSize: world,
    pods: world / p.gpusPerPod,
    gpusPerPod: p.gpusPerPod,
    rankTable: buildRankTable(p),
    stages: buildStages(model, p),
    expertsByEpRank: expertsByEpRank(model, p),
    placement: packed.podNode.map((ni, pod) => ({
      pod,
      node: cluster.nodes[ni]!.name,
      firstRank: pod * p.gpusPerPod,
      nodeSelector: { [LABEL_HOSTNAME]: cluster.nodes[ni]!.name },
    })),
    summary: summarise(cluster, cost, bound, packing.strategy, explanations),
    memory: memoryPerGpu(model, p, training, volumes),
    schedule: { name: p.pipeline.schedule, microBatches: p.pipeline.microBatches, bubbleFormula: BUBBLE_FORMULAS[p.pipeline.schedule]! },
    params: { total: pc.total, active: pc.active, mtp: pc.mtp },
    excludedNodes: cluster.excluded,
  };
  return { ok: true, plan };
}
