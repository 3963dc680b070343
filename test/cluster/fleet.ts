// The simulated GPU fleet: Node objects shaped like a fat-tree of GPU servers (spines × leaves per spine × nodes per
// leaf × GPUs per node), labelled with the topology keys the default ClusterTopology reads. KWOK keeps them Ready and
// runs their pods as make-believe; runner nodes are kept Ready by the process runner, which really runs their pods.
import type { V1Node } from '@kubernetes/client-node';
import { fleetNodes, parseFleetShape, type FleetShape } from '../../operator/plan/placement/fleet.js';
import { GPU_RESOURCE, IB_RESOURCE, LABEL_HOSTNAME, LABEL_LEAF, LABEL_NVLINK_DOMAIN, LABEL_SPINE } from '../../operator/plan/labels.js';

export { GPU_RESOURCE, IB_RESOURCE, LABEL_LEAF, LABEL_SPINE, type FleetShape };
export const LABEL_RUNNER = 'moe.io/process-runner';
export const KWOK_ANNOTATION = 'kwok.x-k8s.io/node';

export const DEFAULT_FLEET: FleetShape = { spines: 1, leavesPerSpine: 2, nodesPerLeaf: 4, gpusPerNode: 8 };
export const NO_FLEET: FleetShape = { spines: 0, leavesPerSpine: 0, nodesPerLeaf: 0, gpusPerNode: 8 };

/** "SxLxNxG" as the planner reads it (e.g. "2x4x32x8" = 256 nodes, 2048 GPUs), or "none" for no simulated nodes. */
export function parseFleet(text: string): FleetShape {
  return text === 'none' ? NO_FLEET : parseFleetShape(text);
}

function baseNode(name: string, labels: Record<string, string>, annotations: Record<string, string>, gpus: number): V1Node {
  const resources = {
    cpu: '128', memory: '2Ti', pods: '110', 'ephemeral-storage': '10Ti',
    [GPU_RESOURCE]: String(gpus), [IB_RESOURCE]: String(gpus),
  };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      labels: { [LABEL_HOSTNAME]: name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', ...labels },
      annotations,
    },
    status: { capacity: resources, allocatable: resources, phase: 'Running' },
  };
}

/** KWOK-managed GPU nodes: the planner's synthetic fleet (names gpu-s<spine>-l<leaf>-n<node>) as Node objects. */
export function simulatedNodes(shape: FleetShape): V1Node[] {
  return fleetNodes(shape).map((n) => baseNode(n.name, { ...n.labels, type: 'kwok' }, { [KWOK_ANNOTATION]: 'fake' }, shape.gpusPerNode));
}

/** Nodes whose pods the process runner executes as local processes; one leaf of their own. */
export function runnerNodes(count: number, gpusPerNode: number): V1Node[] {
  return Array.from({ length: count }, (_, i) => {
    const name = `runner-${i}`;
    return baseNode(name, {
      [LABEL_NVLINK_DOMAIN]: name, [LABEL_LEAF]: 'runner-leaf', [LABEL_SPINE]: 'runner-spine', [LABEL_RUNNER]: 'true',
    }, {}, gpusPerNode);
  });
}
