// Placement quality against brute force on tiny fleets: every assignment of pods to nodes is scored with the same
// traffic model; the planner must reach the best cross-leaf traffic, its lower bound must never exceed the best, and
// the baselines must not beat it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomPlacement, spreadPlacement } from '../../../operator/plan/placement/baselines.js';
import { evaluatePlacement } from '../../../operator/plan/placement/evaluate.js';
import { defaultTopology, fleetNodes } from '../../../operator/plan/placement/fleet.js';
import { lowerBound } from '../../../operator/plan/placement/lowerbound.js';
import { packPlacement, rankNodes } from '../../../operator/plan/placement/pack.js';
import { PRESETS } from '../../../operator/plan/presets.js';
import { buildCluster } from '../../../operator/plan/placement/topology.js';
import { trafficVolumes } from '../../../operator/plan/placement/traffic.js';
import type { ParallelismSpec } from '../../../operator/plan/types.js';

function* permutations(n: number): Generator<number[]> {
  const a = Array.from({ length: n }, (_, i) => i);
  const c = new Array<number>(n).fill(0);
  yield a.slice();
  let i = 0;
  while (i < n) {
    if (c[i]! < i) {
      const j = i % 2 === 0 ? 0 : c[i]!;
      [a[j], a[i]] = [a[i]!, a[j]!];
      yield a.slice();
      c[i]!++;
      i = 0;
    } else {
      c[i] = 0;
      i++;
    }
  }
}

interface Case {
  name: string;
  fleet: [number, number, number, number];
  p: ParallelismSpec;
}

const CASES: Case[] = [
  {
    name: 'PP4 × EP2 × DP2 on 4 leaves × 2 nodes × 2 GPUs (one pod per EP group)',
    fleet: [1, 4, 2, 2],
    p: { pipeline: { stages: 4, schedule: 'DualPipe', microBatches: 8 }, expert: 2, data: 2, tensor: 1, gpusPerPod: 2 },
  },
  {
    name: 'PP2 × EP4 × DP2 on 2 leaves × 4 nodes × 2 GPUs (EP group = 2 pods)',
    fleet: [1, 2, 4, 2],
    p: { pipeline: { stages: 2, schedule: '1F1B', microBatches: 4 }, expert: 4, data: 2, tensor: 1, gpusPerPod: 2 },
  },
  {
    name: 'PP8 × EP2 × DP1 on 2 spines × 2 leaves × 2 nodes × 2 GPUs',
    fleet: [2, 2, 2, 2],
    p: { pipeline: { stages: 8, schedule: 'DualPipeV', microBatches: 16 }, expert: 2, data: 1, tensor: 1, gpusPerPod: 2 },
  },
];

for (const c of CASES) {
  test(`placement vs brute force: ${c.name}`, () => {
    const [spines, leavesPerSpine, nodesPerLeaf, gpusPerNode] = c.fleet;
    const cluster = buildCluster(fleetNodes({ spines, leavesPerSpine, nodesPerLeaf, gpusPerNode }), defaultTopology(gpusPerNode), {});
    const model = { ...PRESETS['deepseek-v3-tiny']!, n_routed_experts: 16 };
    const v = trafficVolumes(model, c.p, { sequenceLength: 512, microBatchSize: 2 });
    const pods = cluster.nodes.length; // one pod per node in every case
    let bestCross = Infinity;
    let bestWeighted = Infinity;
    for (const perm of permutations(pods)) {
      const cost = evaluatePlacement(rankNodes(perm, c.p), cluster, c.p, v);
      bestCross = Math.min(bestCross, cost.crossLeafBytes);
      bestWeighted = Math.min(bestWeighted, cost.weightedCost);
    }
    const planned = evaluatePlacement(rankNodes(packPlacement(cluster, c.p, v).podNode, c.p), cluster, c.p, v);
    // With the planned cut as step size guide the Lagrangian refinement runs too; every bound must stay valid.
    const lb = lowerBound(cluster, c.p, v, planned.crossLeafBytes);
    const plain = lowerBound(cluster, c.p, v);
    assert.ok(plain.crossLeafBytes <= lb.crossLeafBytes * (1 + 1e-12));
    const rel = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));
    assert.ok(rel(planned.crossLeafBytes, bestCross), `planned cross-leaf ${planned.crossLeafBytes} vs best ${bestCross}`);
    assert.ok(planned.weightedCost <= bestWeighted * 1.05, `planned weighted ${planned.weightedCost} vs best ${bestWeighted}`);
    assert.ok(lb.crossLeafBytes <= bestCross * (1 + 1e-9), `bound ${lb.crossLeafBytes} must not exceed the best ${bestCross}`);
    assert.ok(lb.weightedCost <= bestWeighted * (1 + 1e-9), `weighted bound ${lb.weightedCost} vs best ${bestWeighted}`);
    for (const base of [spreadPlacement(cluster, c.p), randomPlacement(cluster, c.p)]) {
      const b = evaluatePlacement(rankNodes(base, c.p), cluster, c.p, v);
      assert.ok(b.crossLeafBytes >= planned.crossLeafBytes, 'a baseline beat the planner');
    }
  });
}

test('EP groups stay whole inside a leaf on the DeepSeek-V3 layout, and the plan reaches its bound', () => {
  const p: ParallelismSpec = { pipeline: { stages: 16, schedule: 'DualPipe', microBatches: 40 }, expert: 64, data: 2, tensor: 1, gpusPerPod: 8 };
  const cluster = buildCluster(fleetNodes({ spines: 1, leavesPerSpine: 8, nodesPerLeaf: 32, gpusPerNode: 8 }), defaultTopology(8), {});
  const v = trafficVolumes(PRESETS['deepseek-v3-671b']!, p, { sequenceLength: 4096, microBatchSize: 1 });
  const placed = packPlacement(cluster, p, v);
  const rn = rankNodes(placed.podNode, p);
  for (let g = 0; g < 2048; g += 64) {
    const leaves = new Set<number>();
    for (let r = g; r < g + 64; r++) leaves.add(cluster.nodes[rn[r]!]!.domain[2]!);
    assert.equal(leaves.size, 1, `EP group at rank ${g}`);
  }
  const cost = evaluatePlacement(rn, cluster, p, v);
  const lb = lowerBound(cluster, p, v, cost.crossLeafBytes);
  assert.ok(cost.crossLeafBytes <= lb.crossLeafBytes * 1.05, `${cost.crossLeafBytes} vs bound ${lb.crossLeafBytes}`);
  assert.ok(cost.crossLeafBytes > 0 && lb.crossLeafBytes > 0);
});

test('Lagrangian refinement: a stage grid whose cheap end rows cannot all be used gets a tighter bound', () => {
  // 16 stages × 16 replicas in 16 leaves of 16 units: the plain bound lets every leaf take the cheap end stages.
  const p: ParallelismSpec = { pipeline: { stages: 16, schedule: 'DualPipe', microBatches: 40 }, expert: 64, data: 16, tensor: 1, gpusPerPod: 8 };
  const cluster = buildCluster(fleetNodes({ spines: 2, leavesPerSpine: 8, nodesPerLeaf: 128, gpusPerNode: 8 }), defaultTopology(8), {});
  const v = trafficVolumes(PRESETS['deepseek-v3-671b']!, p, { sequenceLength: 4096, microBatchSize: 1 });
  const placed = evaluatePlacement(rankNodes(packPlacement(cluster, p, v).podNode, p), cluster, p, v);
  const plain = lowerBound(cluster, p, v).crossLeafBytes;
  const refined = lowerBound(cluster, p, v, placed.crossLeafBytes).crossLeafBytes;
  assert.ok(refined > plain * 1.03, `refined ${refined} vs plain ${plain}`);
  assert.ok(refined <= placed.crossLeafBytes);
  assert.ok(placed.crossLeafBytes <= refined * 1.05, `placed ${placed.crossLeafBytes} vs bound ${refined}`);
});

test('traffic is charged to the fastest shared level: a node-local EP group uses only NVLink', () => {
  const p: ParallelismSpec = { pipeline: { stages: 1, schedule: '1F1B', microBatches: 1 }, expert: 8, data: 1, tensor: 1, gpusPerPod: 8 };
  const cluster = buildCluster(fleetNodes({ spines: 1, leavesPerSpine: 1, nodesPerLeaf: 1, gpusPerNode: 8 }), defaultTopology(8), {});
  const v = trafficVolumes(PRESETS['deepseek-v3-tiny']!, p, { sequenceLength: 128, microBatchSize: 1 });
  const cost = evaluatePlacement(rankNodes([0], p), cluster, p, v);
  assert.ok(cost.ep[0]! > 0);
  assert.deepEqual(cost.ep.slice(1), [0, 0, 0, 0]);
  // 8 ranks × 7 peers × bytes per peer.
  assert.equal(cost.ep[0], 8 * 7 * v.epBytesPerPeer[0]!);
});
