// One serving replica placed with the training planner's placement (operator/plan/placement/gang.ts) on synthetic fleets.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { placeGang } from '../../../operator/plan/placement/gang.js';
import { defaultTopology, fleetNodes } from '../../../operator/plan/placement/fleet.js';
import type { NodeLike } from '../../../operator/plan/types.js';

// 2 leaves × 4 nodes × 8 GPUs: gpu-s0-l0-n0 … gpu-s0-l1-n3.
const fleet = (free: (name: string) => number = () => 8): NodeLike[] => fleetNodes({ spines: 1, leavesPerSpine: 2, nodesPerLeaf: 4, gpusPerNode: 8 }).map((n) => ({ ...n, allocatableGpus: free(n.name) }));
const topo = defaultTopology(8);

describe('placeGang', () => {
  test('a replica of 2 pods × 8 GPUs lands on two consecutive nodes of one leaf, with hostname selectors', () => {
    const r = placeGang({ nodes: fleet(), topology: topo, pods: 2, gpusPerPod: 8 });
    assert.ok(r.ok);
    if (!r.ok) return;
    assert.deepEqual(r.placement.nodes, ['gpu-s0-l0-n0', 'gpu-s0-l0-n1']);
    assert.deepEqual(r.placement.nodeSelectors, [{ 'kubernetes.io/hostname': 'gpu-s0-l0-n0' }, { 'kubernetes.io/hostname': 'gpu-s0-l0-n1' }]);
    assert.deepEqual(r.placement.leaves, ['s0-l0']);
  });

  test('when the first leaf has room for only part of the replica, the whole replica goes to the next leaf', () => {
    // Leaf 0 has one free node left (the other three are taken).
    const r = placeGang({ nodes: fleet((n) => (n.startsWith('gpu-s0-l0') && !n.endsWith('n3') ? 0 : 8)), topology: topo, pods: 2, gpusPerPod: 8 });
    assert.ok(r.ok);
    if (!r.ok) return;
    assert.deepEqual(r.placement.leaves, ['s0-l1']);
    assert.deepEqual(r.placement.nodes, ['gpu-s0-l1-n0', 'gpu-s0-l1-n1']);
  });

  test('pods smaller than a node share it (fewest nodes): 4 pods × 4 GPUs on 2 nodes', () => {
    const r = placeGang({ nodes: fleet(), topology: topo, pods: 4, gpusPerPod: 4 });
    assert.ok(r.ok);
    if (!r.ok) return;
    assert.deepEqual(r.placement.nodes, ['gpu-s0-l0-n0', 'gpu-s0-l0-n0', 'gpu-s0-l0-n1', 'gpu-s0-l0-n1']);
  });

  test('a replica no leaf can hold crosses leaves, and says so', () => {
    const r = placeGang({ nodes: fleet(), topology: topo, pods: 6, gpusPerPod: 8 });
    assert.ok(r.ok);
    if (!r.ok) return;
    assert.deepEqual(r.placement.leaves, ['s0-l0', 's0-l1']);
    assert.match(r.placement.explanations.join(' '), /do not fit whole into the free leaves/);
  });

  test('not enough free GPUs: an error naming the need and the room, no throw', () => {
    const r = placeGang({ nodes: fleet((n) => (n.endsWith('n0') ? 8 : 0)), topology: topo, pods: 3, gpusPerPod: 8 });
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.errors[0]!.message, /needs 3 pod\(s\) of 8 GPUs; the free GPUs of the topology's nodes hold only 2/);
  });
});
