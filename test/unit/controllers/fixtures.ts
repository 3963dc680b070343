// Builders for controller tests: makeJob('a').pipeline(2).experts(4).obj(), and a hand-written plan.
import type { IMoETrainingJob } from '../../../operator/api/types.gen.js';
import { applyDefaults } from '../../../operator/api/defaults.js';
import { MoETrainingJobSchema } from '../../../operator/api/types.gen.js';
import type { TrainingPlan } from '../../../operator/plan/types.js';

export function makeJob(name: string) {
  const j: IMoETrainingJob = {
    apiVersion: 'moe.io/v1alpha1',
    kind: 'MoETrainingJob',
    metadata: { name, namespace: 'team', uid: `uid-${name}`, generation: 1, labels: {} },
    spec: { model: { preset: 'deepseek-v3-tiny' }, parallelism: { pipeline: { stages: 1, schedule: '1F1B', microBatches: 1 }, expert: 8, data: 1, tensor: 1, gpusPerPod: 8 } },
  };
  const b = {
    pipeline(stages: number, schedule: '1F1B' | 'DualPipe' | 'DualPipeV' = '1F1B', microBatches = 2 * stages) {
      j.spec.parallelism.pipeline = { stages, schedule, microBatches };
      return b;
    },
    experts(ep: number) {
      j.spec.parallelism.expert = ep;
      return b;
    },
    gpusPerPod(n: number) {
      j.spec.parallelism.gpusPerPod = n;
      return b;
    },
    label(k: string, v: string) {
      j.metadata!.labels![k] = v;
      return b;
    },
    with(f: (j: IMoETrainingJob) => void) {
      f(j);
      return b;
    },
    obj(): IMoETrainingJob {
      return { ...j, spec: applyDefaults(MoETrainingJobSchema.properties!.spec!, j.spec) };
    },
  };
  return b;
}

/** A plan of `pods` pods × `gpp` ranks, ranks ordered tp,ep,pp,dp with PP = `pp`, EP = world / pp. */
export function makePlan(pods: number, gpp: number, pp = 1): TrainingPlan {
  const world = pods * gpp;
  const ep = world / pp;
  const idx = Array.from({ length: world }, (_, r) => r);
  return {
    version: 1,
    worldSize: world,
    pods,
    gpusPerPod: gpp,
    rankTable: {
      order: 'tp,ep,pp,dp',
      tp: idx.map(() => 0),
      ep: idx.map((r) => r % ep),
      pp: idx.map((r) => Math.floor(r / ep) % pp),
      dp: idx.map(() => 0),
      pod: idx.map((r) => Math.floor(r / gpp)),
      local: idx.map((r) => r % gpp),
    },
    placement: Array.from({ length: pods }, (_, i) => ({ pod: i, node: `node-${i}`, firstRank: i * gpp, nodeSelector: { 'kubernetes.io/hostname': `node-${i}` } })),
    summary: { strategy: 'Pack', traffic: [], crossLeafBytes: 0, crossLeafLowerBound: 0, weightedCost: 1, weightedLowerBound: 1, score: 1, estCommSecondsPerStep: 0, explanations: [] },
  } as unknown as TrainingPlan;
}
