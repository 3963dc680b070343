// Placement of one serving gang (an inference replica: `pods` pods of `gpusPerPod` GPUs, one expert-parallel group)
// with the training planner's own code: the gang is a single unit (PP = 1, D = 1, EP·TP = pods·gpusPerPod), so
// packPlacement keeps it inside one leaf whenever a leaf has room, on consecutive slots (fewest nodes and NVLink
// domains), and otherwise places it in topology order across leaves. Pure.
import { packPlacement } from './pack.js';
import { buildCluster, leafLevel, topologyErrors } from './topology.js';
import type { TrafficVolumes } from './traffic.js';
import type { FieldError, NodeLike, ParallelismSpec, Toleration, TopologySpec } from '../types.js';
import { LABEL_HOSTNAME } from '../labels.js';

export interface GangInput {
  nodes: readonly NodeLike[];
  topology: TopologySpec;
  pods: number;
  gpusPerPod: number;
  excludeNodes?: readonly string[];
  tolerations?: readonly Toleration[];
}

export interface GangPlacement {
  /** Node of each pod, by pod index. */
  nodes: string[];
  /** Node selector to inject per pod (hostname). */
  nodeSelectors: Record<string, string>[];
  /** Leaf-level domain names the gang spans (one when it fits a leaf). */
  leaves: string[];
  explanations: string[];
}

export type GangResult = { ok: true; placement: GangPlacement } | { ok: false; errors: FieldError[] };

/** A single unit has no edges to other units: the traffic volumes only weigh inter-unit cuts, so zeros do. */
const NO_TRAFFIC: TrafficVolumes = { epBytesPerPeer: [0], ppBytesPerEdge: 0, dpNonExpertHop: [0], dpExpertHop: [0], nonExpertParams: [0], expertParams: [0] };

export function placeGang(input: GangInput): GangResult {
  const errors = topologyErrors(input.topology, 'topology.spec');
  if (!Number.isInteger(input.pods) || input.pods < 1) errors.push({ field: 'pods', message: `must be a positive integer, got ${input.pods}` });
  if (!Number.isInteger(input.gpusPerPod) || input.gpusPerPod < 1) errors.push({ field: 'gpusPerPod', message: `must be a positive integer, got ${input.gpusPerPod}` });
  if (errors.length) return { ok: false, errors };
  const cluster = buildCluster(input.nodes, input.topology, {
    minGpus: input.gpusPerPod,
    ...(input.excludeNodes ? { excludeNodes: input.excludeNodes } : {}),
    ...(input.tolerations ? { tolerations: input.tolerations } : {}),
  });
  const slots = cluster.nodes.reduce((s, n) => s + Math.floor(n.gpus / input.gpusPerPod), 0);
  if (slots < input.pods) {
    return { ok: false, errors: [{ field: 'capacity', message: `a replica needs ${input.pods} pod(s) of ${input.gpusPerPod} GPUs; the free GPUs of the topology's nodes hold only ${slots}` }] };
  }
  const p: ParallelismSpec = { pipeline: { stages: 1, schedule: '1F1B', microBatches: 1 }, expert: input.pods * input.gpusPerPod, data: 1, tensor: 1, gpusPerPod: input.gpusPerPod };
  const placed = packPlacement(cluster, p, NO_TRAFFIC, { swapBudgetMs: 0 });
  const lv = leafLevel(cluster);
  const nodes = placed.podNode.map((i) => cluster.nodes[i]!.name);
  const leaves = [...new Set(placed.podNode.map((i) => cluster.domainNames[lv]![cluster.nodes[i]!.domain[lv]!]!))];
  return { ok: true, placement: { nodes, nodeSelectors: nodes.map((n) => ({ [LABEL_HOSTNAME]: n })), leaves, explanations: placed.explanations } };
}
