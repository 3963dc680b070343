// Synthetic fat-tree fleets (spines × leaves per spine × nodes per leaf × GPUs per node) as Node-like objects with the
// same names and labels the local cluster harness (test/cluster/fleet.ts) gives its simulated nodes.
import { GPU_RESOURCE, IB_RESOURCE, LABEL_HOSTNAME, LABEL_LEAF, LABEL_NVLINK_DOMAIN, LABEL_SPINE } from '../labels.js';
import type { NodeLike, TopologySpec } from '../types.js';

export interface FleetShape {
  spines: number;
  leavesPerSpine: number;
  nodesPerLeaf: number;
  gpusPerNode: number;
  /** Nodes per NVLink domain (1 = a node; 9 = an NVL72 rack of 8-GPU trays). Must divide nodesPerLeaf. */
  nodesPerNvlinkDomain?: number;
}

/** Parses "SxLxNxG" (e.g. "2x4x32x8"); throws a message naming `--fleet` and the expected form. */
export function parseFleetShape(text: string, arg = '--fleet'): FleetShape {
  const parts = text.trim().split('x').map((p) => (/^\d+$/.test(p) ? Number(p) : NaN));
  if (parts.length !== 4 || parts.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new Error(`${arg} "${text}": expected SPINESxLEAVESxNODESxGPUS with positive whole numbers, e.g. 2x4x32x8`);
  }
  const [spines, leavesPerSpine, nodesPerLeaf, gpusPerNode] = parts as [number, number, number, number];
  return { spines, leavesPerSpine, nodesPerLeaf, gpusPerNode };
}

export function fleetNodes(shape: FleetShape): NodeLike[] {
  const nodes: NodeLike[] = [];
  const w = String(Math.max(shape.nodesPerLeaf - 1, 0)).length;
  const perDomain = shape.nodesPerNvlinkDomain ?? 1;
  if (shape.nodesPerLeaf % perDomain !== 0) throw new Error(`nodesPerNvlinkDomain (${perDomain}) must divide nodesPerLeaf (${shape.nodesPerLeaf})`);
  for (let s = 0; s < shape.spines; s++) {
    for (let l = 0; l < shape.leavesPerSpine; l++) {
      for (let n = 0; n < shape.nodesPerLeaf; n++) {
        const name = `gpu-s${s}-l${l}-n${String(n).padStart(w, '0')}`;
        const domain = perDomain === 1 ? name : `nvl-s${s}-l${l}-d${Math.floor(n / perDomain)}`;
        nodes.push({
          name,
          labels: {
            [LABEL_HOSTNAME]: name,
            [LABEL_NVLINK_DOMAIN]: domain,
            [LABEL_LEAF]: `s${s}-l${l}`,
            [LABEL_SPINE]: `s${s}`,
          },
          allocatableGpus: shape.gpusPerNode,
        });
      }
    }
  }
  return nodes;
}

/** The default ClusterTopology: NVLink 160 GB/s per GPU, InfiniBand 50 GB/s inside a leaf and 40 GB/s across leaves. */
export function defaultTopology(gpusPerNode = 8): TopologySpec {
  return {
    levels: [
      { name: 'nvlink', nodeLabel: LABEL_NVLINK_DOMAIN, gbpsPerGpu: 160 },
      { name: 'host', nodeLabel: LABEL_HOSTNAME, gbpsPerGpu: 160 },
      { name: 'leaf', nodeLabel: LABEL_LEAF, gbpsPerGpu: 50 },
      { name: 'spine', nodeLabel: LABEL_SPINE, gbpsPerGpu: 40 },
    ],
    gpuResource: GPU_RESOURCE,
    rdmaResource: IB_RESOURCE,
    gpusPerNode,
  };
}
