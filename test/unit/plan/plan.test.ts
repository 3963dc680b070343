// planTrainingJob end to end: the plan for the tiny and the full model, errors, exclusions, rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultTopology, fleetNodes } from '../../../operator/plan/placement/fleet.js';
import { planTrainingJob, type PlanInput } from '../../../operator/plan/index.js';

const tiny = (o: Partial<PlanInput> = {}): PlanInput => ({
  model: { preset: 'deepseek-v3-tiny' },
  parallelism: { pipeline: { stages: 2, schedule: 'DualPipe', microBatches: 4 }, expert: 4, data: 1, gpusPerPod: 4 },
  training: { sequenceLength: 256, microBatchSize: 1 },
  nodes: fleetNodes({ spines: 1, leavesPerSpine: 1, nodesPerLeaf: 2, gpusPerNode: 4 }),
  topology: defaultTopology(4),
  ...o,
});

test('tiny model on two 4-GPU nodes: 8 ranks, 2 pods, one per node, JSON round trip', () => {
  const r = planTrainingJob(tiny());
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  if (!r.ok) return;
  const plan = r.plan;
  assert.equal(plan.worldSize, 8);
  assert.equal(plan.pods, 2);
  assert.deepEqual(new Set(plan.placement.map((p) => p.node)), new Set(['gpu-s0-l0-n0', 'gpu-s0-l0-n1']));
  assert.deepEqual(plan.placement[0]!.nodeSelector, { 'kubernetes.io/hostname': plan.placement[0]!.node });
  assert.deepEqual(plan.stages.map((s) => s.stages), [[0, 1], [1, 0]]);
  assert.deepEqual(plan.rankTable.pp, [0, 0, 0, 0, 1, 1, 1, 1]);
  assert.deepEqual(plan.expertsByEpRank[3], [12, 13, 14, 15]);
  assert.deepEqual(JSON.parse(JSON.stringify(plan)), plan);
  assert.ok(plan.memory.params > 0 && plan.memory.totalBytes > plan.memory.weightBytes);
});

test('the 671B layout on a 2048-GPU fat tree fits and reports traffic per level', () => {
  const r = planTrainingJob({
    model: { preset: 'deepseek-v3-671b' },
    parallelism: { pipeline: { stages: 16, schedule: 'DualPipe', microBatches: 40 }, expert: 64, data: 2 },
    training: { sequenceLength: 4096, globalBatchSize: 5120 },
    nodes: fleetNodes({ spines: 1, leavesPerSpine: 8, nodesPerLeaf: 32, gpusPerNode: 8 }),
    topology: defaultTopology(8),
  });
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  if (!r.ok) return;
  assert.equal(r.plan.worldSize, 2048);
  assert.equal(r.plan.pods, 256);
  assert.deepEqual(r.plan.summary.traffic.map((t) => t.level), ['nvlink', 'host', 'leaf', 'spine', 'core']);
  assert.ok(r.plan.summary.crossLeafBytes <= r.plan.summary.crossLeafLowerBound * 1.05);
  assert.ok(r.plan.summary.score > 0.9 && r.plan.summary.score <= 1);
  // DualPipe holds two stages: the busiest rank holds more than one stage's worth (61 layers / 16 stages).
  assert.equal(r.plan.memory.peakActivationChunks, 17);
});

test('errors come back as fields, from the job and the topology together', () => {
  const r = planTrainingJob(tiny({ model: { preset: 'nope' }, topology: { levels: [] } }));
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.deepEqual(r.errors.map((e) => e.field).sort(), ['spec.model.preset', 'topology.spec.levels']);
});

test('a job larger than the fleet names the GPUs missing and the excluded nodes', () => {
  const r = planTrainingJob(tiny({ excludeNodes: ['gpu-s0-l0-n1'] }));
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.equal(r.errors[0]!.field, 'spec.parallelism');
  assert.match(r.errors[0]!.message, /needs 8 GPUs .* has 4 usable \(1 nodes excluded, e\.g\. gpu-s0-l0-n1: listed in spec\.packing\.excludeNodes\)/);
});

test('excluded nodes are skipped and reported in the plan', () => {
  const r = planTrainingJob(tiny({ nodes: fleetNodes({ spines: 1, leavesPerSpine: 1, nodesPerLeaf: 3, gpusPerNode: 4 }), excludeNodes: ['gpu-s0-l0-n0'] }));
  assert.ok(r.ok);
  if (!r.ok) return;
  assert.ok(!r.plan.placement.some((p) => p.node === 'gpu-s0-l0-n0'));
  assert.deepEqual(r.plan.excludedNodes, [{ name: 'gpu-s0-l0-n0', reason: 'listed in spec.packing.excludeNodes' }]);
});

test('a required packing rule that the fleet cannot meet fails with the rule as field; preferred only explains', () => {
  // EP 8 × TP 1 on 2-GPU nodes, leaves of 2 nodes: an EP group needs 4 nodes, so it must cross leaves.
  const base = tiny({
    parallelism: { pipeline: { stages: 1, schedule: '1F1B', microBatches: 1 }, expert: 8, data: 1, gpusPerPod: 2 },
    nodes: fleetNodes({ spines: 1, leavesPerSpine: 2, nodesPerLeaf: 2, gpusPerNode: 2 }),
    topology: defaultTopology(2),
  });
  const req = planTrainingJob({ ...base, packing: { rules: [{ level: 'leaf', group: 'expert', mode: 'required' }] } });
  assert.equal(req.ok, false);
  if (!req.ok) {
    assert.equal(req.errors[0]!.field, 'spec.packing.rules[0]');
    assert.match(req.errors[0]!.message, /EP group \(pp 0, dp 0\) spans 2 leaf domains.*make the rule preferred/);
  }
  const pref = planTrainingJob({ ...base, packing: { rules: [{ level: 'leaf', group: 'expert', mode: 'preferred' }] } });
  assert.ok(pref.ok);
  if (pref.ok) assert.ok(pref.plan.summary.explanations.some((e) => /preferred rule not met/.test(e)));
  const unknown = planTrainingJob({ ...base, packing: { rules: [{ level: 'rack', group: 'expert' }] } });
  assert.equal(unknown.ok, false);
  if (!unknown.ok) assert.match(unknown.errors[0]!.message, /unknown level "rack"; the topology has nvlink, host, leaf, spine/);
});

test('Spread strategy places pods like the default scheduler and costs more cross-leaf traffic than Pack', () => {
  const input = (strategy: string) => ({
    model: { preset: 'deepseek-v3-tiny' },
    parallelism: { pipeline: { stages: 2, schedule: 'DualPipe', microBatches: 4 }, expert: 16, data: 1, gpusPerPod: 4 },
    training: { sequenceLength: 256, microBatchSize: 1 },
    packing: { strategy },
    nodes: fleetNodes({ spines: 1, leavesPerSpine: 4, nodesPerLeaf: 4, gpusPerNode: 4 }),
    topology: defaultTopology(4),
  });
  const pack = planTrainingJob(input('Pack'));
  const spread = planTrainingJob(input('Spread'));
  assert.ok(pack.ok && spread.ok);
  if (pack.ok && spread.ok) assert.ok(spread.plan.summary.crossLeafBytes > pack.plan.summary.crossLeafBytes);
});
