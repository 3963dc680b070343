// Placement quality and speed. DeepSeek-V3 training layout (PP16 DualPipe × EP64 × DP2, 40 micro-batches of one
// 4096-token sequence) on a 2048-GPU fat tree (2 spines × 4 leaves × 32 nodes × 8 GPUs): cross-leaf bytes per step
// of the planner vs its lower bound, and vs the kube-scheduler-like spread and a random placement measured in the
// same run. Plan time (planTrainingJob end to end) for 2048 GPUs and for 16,384 GPUs (2 × 8 × 128 × 8, DP16).
import { randomPlacement, spreadPlacement } from '../../operator/plan/placement/baselines.js';
import { evaluatePlacement } from '../../operator/plan/placement/evaluate.js';
import { defaultTopology, fleetNodes, type FleetShape } from '../../operator/plan/placement/fleet.js';
import { planTrainingJob } from '../../operator/plan/index.js';
import { rankNodes } from '../../operator/plan/placement/pack.js';
import { PRESETS } from '../../operator/plan/presets.js';
import { buildCluster } from '../../operator/plan/placement/topology.js';
import { trafficVolumes } from '../../operator/plan/placement/traffic.js';
import type { ParallelismSpec } from '../../operator/plan/types.js';
import { medianMs, writeResult } from './common.js';

const model = PRESETS['deepseek-v3-671b']!;

function layout(data: number): ParallelismSpec {
  return { pipeline: { stages: 16, schedule: 'DualPipe', microBatches: 40 }, expert: 64, data, tensor: 1, gpusPerPod: 8 };
}

function scenario(label: string, shape: FleetShape, data: number, runs: number) {
  const nodes = fleetNodes(shape);
  const topology = defaultTopology(shape.gpusPerNode);
  const p = layout(data);
  const training = { sequenceLength: 4096, microBatchSize: 1 };
  const input = { model: { preset: 'deepseek-v3-671b' }, parallelism: p, training, nodes, topology };
  const r = planTrainingJob(input);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  const s = r.plan.summary;
  const cluster = buildCluster(nodes, topology, { minGpus: p.gpusPerPod });
  const v = trafficVolumes(model, p, training);
  const baselines: Record<string, unknown> = {};
  for (const [name, pods] of [['spread', spreadPlacement(cluster, p, 7)], ['random', randomPlacement(cluster, p, 11)]] as const) {
    const c = evaluatePlacement(rankNodes(pods, p), cluster, p, v);
    baselines[name] = {
      crossLeafBytes: c.crossLeafBytes,
      crossLeafRatioVsPlanner: +(c.crossLeafBytes / s.crossLeafBytes).toFixed(3),
      weightedCostRatioVsPlanner: +(c.weightedCost / s.weightedCost).toFixed(4),
      estCommSecondsPerStep: +c.maxRankSeconds.toFixed(3),
    };
  }
  // The first call includes JIT compilation; the median is over warm calls.
  const t0 = performance.now();
  planTrainingJob(input);
  const firstCallMs = +(performance.now() - t0).toFixed(2);
  const time = { ...medianMs(() => planTrainingJob(input), runs, 10), firstCallMs };
  const out = {
    label,
    fleet: shape,
    gpus: r.plan.worldSize,
    layout: `PP${p.pipeline.stages} ${p.pipeline.schedule} × EP${p.expert} × DP${p.data}`,
    planner: {
      crossLeafBytes: s.crossLeafBytes,
      crossLeafLowerBound: s.crossLeafLowerBound,
      crossLeafAboveBoundPct: +((s.crossLeafBytes / s.crossLeafLowerBound - 1) * 100).toFixed(2),
      score: +s.score.toFixed(4),
      estCommSecondsPerStep: +s.estCommSecondsPerStep.toFixed(3),
      trafficByLevel: s.traffic.map((t) => ({ level: t.level, bytesPerStep: t.bytesPerStep })),
    },
    baselines,
    planTime: time,
  };
  console.log(`${label}: ${out.gpus} GPUs, cross-leaf ${(s.crossLeafBytes / 1e12).toFixed(2)} TB/step vs bound ${(s.crossLeafLowerBound / 1e12).toFixed(2)} TB (+${out.planner.crossLeafAboveBoundPct}%), ` +
    `spread ×${(baselines.spread as { crossLeafRatioVsPlanner: number }).crossLeafRatioVsPlanner}, random ×${(baselines.random as { crossLeafRatioVsPlanner: number }).crossLeafRatioVsPlanner}; plan ${time.medianMs} ms (median of ${time.runs} warm calls; first call ${time.firstCallMs} ms)`);
  return out;
}

const results = [
  scenario('2048-GPU fat tree', { spines: 2, leavesPerSpine: 4, nodesPerLeaf: 32, gpusPerNode: 8 }, 2, 15),
  scenario('16384-GPU fat tree', { spines: 2, leavesPerSpine: 8, nodesPerLeaf: 128, gpusPerNode: 8 }, 16, 5),
];
console.log(`wrote ${writeResult('plan-placement', { targets: { crossLeafAboveBoundPct: 5, planMs2048: 100, planMs16384: 1000 }, results })}`);
