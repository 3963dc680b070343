// Converting Nodes and Pods read from a cluster into the planner's NodeLike.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { gpusInUse, toNodeLike } from '../../../operator/cli/kube-source.js';

const node: V1Node = {
  metadata: { name: 'n1', labels: { 'moe.io/leaf': 'l0' } },
  spec: { unschedulable: true, taints: [{ key: 'k', value: 'v', effect: 'NoSchedule' }] },
  status: { allocatable: { 'nvidia.com/gpu': '8' }, conditions: [{ type: 'Ready', status: 'False' }] },
};

test('a Node becomes a NodeLike: free GPUs, cordon, taints, readiness', () => {
  assert.deepEqual(toNodeLike(node, 'nvidia.com/gpu', 3), {
    name: 'n1',
    labels: { 'moe.io/leaf': 'l0' },
    allocatableGpus: 5,
    unschedulable: true,
    taints: [{ key: 'k', value: 'v', effect: 'NoSchedule' }],
    ready: false,
  });
  assert.equal(toNodeLike({ metadata: { name: 'x' } }, 'nvidia.com/gpu', 0).allocatableGpus, 0);
});

test('GPUs in use are summed per node over running pods only', () => {
  const pod = (nodeName: string, gpus: string, phase = 'Running'): V1Pod => ({
    spec: { nodeName, containers: [{ name: 'c', resources: { requests: { 'nvidia.com/gpu': gpus } } }] },
    status: { phase },
  });
  const used = gpusInUse([pod('n1', '4'), pod('n1', '2'), pod('n2', '8', 'Succeeded'), { spec: { containers: [] } }], 'nvidia.com/gpu');
  assert.deepEqual([...used], [['n1', 6]]);
});
