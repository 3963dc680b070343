// Local cluster start-up: the control plane alone, then with the 2048-GPU fat-tree (256 KWOK nodes, 2 spines ×
// 4 leaves × 32 nodes × 8 GPUs) until every node is Ready. Writes bench/results/cluster-fleet.json.
import { startCluster } from '../../test/cluster/index.js';
import { NO_FLEET, parseFleet, type FleetShape } from '../../test/cluster/fleet.js';
import { writeResult } from '../result-file.js';

async function measure(label: string, fleet: FleetShape) {
  const c = await startCluster({ fleet, runnerNodes: 0 });
  try {
    const nodes = fleet.spines * fleet.leavesPerSpine * fleet.nodesPerLeaf;
    console.log(`${label}: ${nodes} nodes; control plane ${c.timings.controlPlaneMs} ms, nodes created ${c.timings.nodesCreatedMs} ms, ` +
      `all Ready ${c.timings.nodesReadyMs} ms after, total ${c.timings.totalMs} ms`);
    return { label, nodes, gpus: nodes * fleet.gpusPerNode, ...c.timings };
  } finally {
    await c.stop();
  }
}

console.log(`wrote ${writeResult('cluster-fleet', {
  runs: [
    await measure('control plane only', NO_FLEET),
    await measure('2048-GPU fat-tree', parseFleet('2x4x32x8')),
  ],
})}`);
