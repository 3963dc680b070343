// The simulated GPU fleet: Node objects shaped like a fat-tree of GPU servers (spines × leaves per spine × nodes per
// leaf × GPUs per node), labelled with the topology keys the default ClusterTopology reads. KWOK keeps them Ready and
// runs their pods as make-believe; runner nodes are kept Ready by the process runner, which really runs their pods.
import type { V1Node } from '@kubernetes/client-node';

export const LABEL_NVLINK = 'moe.io/nvlink-domain';
export const LABEL_HOST = 'kubernetes.io/hostname';
export const LABEL_LEAF = 'moe.io/leaf';
export const LABEL_SPINE = 'moe.io/spine';
export const LABEL_RUNNER = 'moe.io/process-runner';
export const GPU_RESOURCE = 'nvidia.com/gpu';
export const IB_RESOURCE = 'rdma/ib';
export const KWOK_ANNOTATION = 'kwok.x-k8s.io/node';

export interface FleetShape {
  spines: number;
  leavesPerSpine: number;
  nodesPerLeaf: number;
  gpusPerNode: number;
}

export const DEFAULT_FLEET: FleetShape = { spines: 1, leavesPerSpine: 2, nodesPerLeaf: 4, gpusPerNode: 8 };

/** Parses "SxLxNxG", e.g. "2x4x32x8" = 2 spines × 4 leaves × 32 nodes × 8 GPUs = 256 nodes, 2048 GPUs. */
export function parseFleet(text: string): FleetShape {
  const parts = text.split('x').map((p) => Number(p));
  if (parts.length !== 4 || parts.some((n) => !Number.isInteger(n) || n < 0) || parts[3] === 0) {
    throw new Error(`--fleet "${text}": expected SPINESxLEAVESxNODESxGPUS with whole numbers, e.g. 2x4x32x8 (GPUs per node > 0)`);
  }
  const [spines, leavesPerSpine, nodesPerLeaf, gpusPerNode] = parts as [number, number, number, number];
  return { spines, leavesPerSpine, nodesPerLeaf, gpusPerNode };
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
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
      labels: { [LABEL_HOST]: name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', ...labels },
      annotations,
    },
    status: { capacity: resources, allocatable: resources, phase: 'Running' },
  };
}

/** KWOK-managed GPU nodes; names say where they sit: gpu-s<spine>-l<leaf>-n<node>. */
export function simulatedNodes(shape: FleetShape): V1Node[] {
  const nodes: V1Node[] = [];
  const w = String(Math.max(shape.nodesPerLeaf - 1, 0)).length;
  for (let s = 0; s < shape.spines; s++) {
    for (let l = 0; l < shape.leavesPerSpine; l++) {
      for (let n = 0; n < shape.nodesPerLeaf; n++) {
        const name = `gpu-s${s}-l${l}-n${pad(n, w)}`;
        nodes.push(baseNode(name, {
          [LABEL_NVLINK]: name, [LABEL_LEAF]: `s${s}-l${l}`, [LABEL_SPINE]: `s${s}`, type: 'kwok',
        }, { [KWOK_ANNOTATION]: 'fake' }, shape.gpusPerNode));
      }
    }
  }
  return nodes;
}

/** Nodes whose pods the process runner executes as local processes; one leaf of their own. */
export function runnerNodes(count: number, gpusPerNode: number): V1Node[] {
  return Array.from({ length: count }, (_, i) => {
    const name = `runner-${i}`;
    return baseNode(name, {
      [LABEL_NVLINK]: name, [LABEL_LEAF]: 'runner-leaf', [LABEL_SPINE]: 'runner-spine', [LABEL_RUNNER]: 'true',
    }, {}, gpusPerNode);
  });
}
