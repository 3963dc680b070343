// The cluster model: exclusions with reasons, ordering, shared levels, NVLink domains over several nodes, fleets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultTopology, fleetNodes, parseFleetShape } from '../../../operator/plan/placement/fleet.js';
import { LABEL_HOSTNAME, LABEL_LEAF, LABEL_NVLINK_DOMAIN, LABEL_SPINE } from '../../../operator/plan/labels.js';
import { buildCluster, leafLevel, sharedLevel, topologyErrors } from '../../../operator/plan/placement/topology.js';
import type { NodeLike } from '../../../operator/plan/types.js';

const node = (name: string, leaf: string, extra: Partial<NodeLike> = {}): NodeLike => ({
  name,
  labels: { [LABEL_HOSTNAME]: name, [LABEL_NVLINK_DOMAIN]: name, [LABEL_LEAF]: leaf, [LABEL_SPINE]: 's0' },
  allocatableGpus: 8,
  ...extra,
});

test('nodes that cannot take the job are excluded with the reason', () => {
  const nodes: NodeLike[] = [
    node('a', 'l0'),
    node('b', 'l0', { unschedulable: true }),
    node('c', 'l0', { taints: [{ key: 'maintenance', effect: 'NoSchedule' }] }),
    node('d', 'l0', { taints: [{ key: 'nvidia.com/gpu', value: 'present', effect: 'NoSchedule' }] }),
    node('e', 'l0', { taints: [{ key: 'slow', effect: 'PreferNoSchedule' }] }),
    node('f', 'l0', { allocatableGpus: 4 }),
    node('g', 'l0', { ready: false }),
    { name: 'h', labels: { [LABEL_HOSTNAME]: 'h', [LABEL_SPINE]: 's0' }, allocatableGpus: 8 },
    node('i', 'l0'),
  ];
  const m = buildCluster(nodes, defaultTopology(8), { excludeNodes: ['i'], minGpus: 8 });
  assert.deepEqual(m.nodes.map((n) => n.name), ['a', 'd', 'e']);
  assert.deepEqual(m.excluded, [
    { name: 'b', reason: 'unschedulable (cordoned)' },
    { name: 'c', reason: 'taint maintenance:NoSchedule not tolerated by the job' },
    { name: 'f', reason: '4 free GPUs (nvidia.com/gpu), a pod needs 8' },
    { name: 'g', reason: 'not Ready' },
    { name: 'h', reason: 'lacks label moe.io/leaf (level leaf)' },
    { name: 'i', reason: 'listed in spec.packing.excludeNodes' },
  ]);
});

test('tolerations given by the job admit tainted nodes', () => {
  const m = buildCluster([node('c', 'l0', { taints: [{ key: 'maintenance', value: 'x', effect: 'NoSchedule' }] })], defaultTopology(8), {
    tolerations: [{ key: 'maintenance', operator: 'Equal', value: 'x' }],
  });
  assert.equal(m.nodes.length, 1);
});

test('nodes are ordered spine, leaf, name (naturally) and share the fastest common level', () => {
  const m = buildCluster([node('n10', 'l1'), node('n2', 'l0'), node('n1', 'l1'), node('n9', 'l0')], defaultTopology(8), {});
  assert.deepEqual(m.nodes.map((n) => n.name), ['n2', 'n9', 'n1', 'n10']);
  assert.equal(sharedLevel(m, 0, 0), 0); // same node: NVLink
  assert.equal(sharedLevel(m, 0, 1), 2); // same leaf
  assert.equal(sharedLevel(m, 0, 2), 3); // same spine, other leaf
  assert.equal(leafLevel(m), 2);
});

test('an NVLink domain can span several nodes (NVL72-style racks)', () => {
  const nodes = fleetNodes({ spines: 1, leavesPerSpine: 1, nodesPerLeaf: 4, gpusPerNode: 4, nodesPerNvlinkDomain: 2 });
  const m = buildCluster(nodes, defaultTopology(4), {});
  assert.equal(sharedLevel(m, 0, 1), 0, 'two nodes of one rack share NVLink');
  assert.equal(sharedLevel(m, 1, 2), 2, 'nodes of different racks meet at the leaf');
});

test('nodes of one NVLink domain are kept together even when host names interleave', () => {
  const rack = (name: string, domain: string) => ({ ...node(name, 'l0'), labels: { ...node(name, 'l0').labels, [LABEL_NVLINK_DOMAIN]: domain } });
  const m = buildCluster([rack('h1', 'r1'), rack('h2', 'r0'), rack('h3', 'r1'), rack('h4', 'r0')], defaultTopology(8), {});
  assert.deepEqual(m.nodes.map((n) => n.name), ['h2', 'h4', 'h1', 'h3']);
});

test('leaves of different spines with the same label value stay apart', () => {
  const a = node('a', 'l0');
  const b = { ...node('b', 'l0'), labels: { ...node('b', 'l0').labels, [LABEL_SPINE]: 's1' } };
  const m = buildCluster([a, b], defaultTopology(8), {});
  assert.equal(sharedLevel(m, 0, 1), 4, 'no shared level: the core');
});

test('topology spec errors name the field', () => {
  assert.match(topologyErrors({ levels: [] })[0]!.message, /at least one level/);
  const errs = topologyErrors({
    levels: [
      { name: 'nvlink', nodeLabel: 'x', gbpsPerGpu: 50 },
      { name: 'nvlink', nodeLabel: 'x', gbpsPerGpu: 0 },
      { name: 'Leaf!', nodeLabel: '', gbpsPerGpu: 40 },
    ],
    gpusPerNode: 0,
  });
  const fields = errs.map((e) => e.field);
  assert.ok(fields.includes('topology.spec.levels[1].name'));
  assert.ok(fields.includes('topology.spec.levels[1].nodeLabel'));
  assert.ok(fields.includes('topology.spec.levels[1].gbpsPerGpu'));
  assert.ok(fields.includes('topology.spec.levels[2].name'));
  assert.ok(fields.includes('topology.spec.levels[2].nodeLabel'));
  const order = topologyErrors({ levels: [{ name: 'leaf', nodeLabel: 'a', gbpsPerGpu: 50 }, { name: 'nvlink', nodeLabel: 'b', gbpsPerGpu: 160 }] });
  assert.deepEqual(order.map((e) => e.field), ['topology.spec.levels[1].gbpsPerGpu']);
  assert.match(order[0]!.message, /nvlink \(160\) is faster than leaf \(50\); reorder the levels/);
  assert.ok(fields.includes('topology.spec.gpusPerNode'));
});

test('fleet shapes: parse, names and labels like the cluster harness', () => {
  assert.deepEqual(parseFleetShape('2x4x32x8'), { spines: 2, leavesPerSpine: 4, nodesPerLeaf: 32, gpusPerNode: 8 });
  assert.throws(() => parseFleetShape('2x4x32'), /--fleet "2x4x32": expected SPINESxLEAVESxNODESxGPUS/);
  assert.throws(() => parseFleetShape('2x4x0x8'), /positive whole numbers/);
  const nodes = fleetNodes({ spines: 2, leavesPerSpine: 2, nodesPerLeaf: 12, gpusPerNode: 8 });
  assert.equal(nodes.length, 48);
  assert.equal(nodes[13]!.name, 'gpu-s0-l1-n01');
  assert.deepEqual(nodes[13]!.labels, {
    [LABEL_HOSTNAME]: 'gpu-s0-l1-n01',
    [LABEL_NVLINK_DOMAIN]: 'gpu-s0-l1-n01',
    [LABEL_LEAF]: 's0-l1',
    [LABEL_SPINE]: 's0',
  });
  assert.equal(nodes[13]!.allocatableGpus, 8);
});
