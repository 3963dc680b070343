import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFleet, runnerNodes, simulatedNodes, LABEL_LEAF, LABEL_SPINE, LABEL_RUNNER, GPU_RESOURCE, KWOK_ANNOTATION } from '../../cluster/fleet.js';

test('a fleet shape parses from SxLxNxG and rejects anything else with the expected form', () => {
  assert.deepEqual(parseFleet('2x4x32x8'), { spines: 2, leavesPerSpine: 4, nodesPerLeaf: 32, gpusPerNode: 8 });
  assert.throws(() => parseFleet('2x4x32'), /expected SPINESxLEAVESxNODESxGPUS/);
  assert.throws(() => parseFleet('2x4x3.5x8'), /expected SPINESxLEAVESxNODESxGPUS/);
  assert.throws(() => parseFleet('1x1x1x0'), /positive whole numbers/);
  assert.deepEqual(parseFleet('none'), { spines: 0, leavesPerSpine: 0, nodesPerLeaf: 0, gpusPerNode: 8 });
});

test('the 2048-GPU fat-tree has 256 uniquely named nodes, 32 per leaf, labelled with their place', () => {
  const nodes = simulatedNodes(parseFleet('2x4x32x8'));
  assert.equal(nodes.length, 256);
  assert.equal(new Set(nodes.map((n) => n.metadata?.name)).size, 256);
  const perLeaf = new Map<string, number>();
  for (const n of nodes) perLeaf.set(n.metadata!.labels![LABEL_LEAF]!, (perLeaf.get(n.metadata!.labels![LABEL_LEAF]!) ?? 0) + 1);
  assert.deepEqual([...perLeaf.values()], Array(8).fill(32));
  const n = nodes.find((x) => x.metadata?.name === 'gpu-s1-l2-n07')!;
  assert.equal(n.metadata!.labels![LABEL_SPINE], 's1');
  assert.equal(n.metadata!.labels![LABEL_LEAF], 's1-l2');
  assert.equal(n.status!.allocatable![GPU_RESOURCE], '8');
  assert.equal(n.metadata!.annotations![KWOK_ANNOTATION], 'fake');
});

test('runner nodes are labelled for the process runner and not handed to KWOK', () => {
  const [r] = runnerNodes(1, 4);
  assert.equal(r!.metadata!.labels![LABEL_RUNNER], 'true');
  assert.equal(r!.metadata!.annotations![KWOK_ANNOTATION], undefined);
  assert.equal(r!.status!.capacity![GPU_RESOURCE], '4');
});
