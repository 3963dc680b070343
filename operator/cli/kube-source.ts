// Reads Nodes (free GPUs = allocatable minus what running pods request) and a ClusterTopology from a cluster.
import { CoreV1Api, CustomObjectsApi, KubeConfig, type V1Node, type V1Pod } from '@kubernetes/client-node';
import type { NodeLike, TopologySpec } from '../plan/types.js';

/** Kubernetes quantities of an extended resource are whole numbers ("8"); anything else counts as 0. */
function count(q: string | undefined): number {
  const n = Number(q ?? 0);
  return Number.isFinite(n) ? Math.floor(n) : 0;
}

export function toNodeLike(node: V1Node, gpuResource: string, usedGpus: number): NodeLike {
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  return {
    name: node.metadata?.name ?? '',
    labels: node.metadata?.labels ?? {},
    allocatableGpus: Math.max(0, count(node.status?.allocatable?.[gpuResource]) - usedGpus),
    unschedulable: node.spec?.unschedulable === true,
    taints: (node.spec?.taints ?? []).map((t) => ({ key: t.key, ...(t.value ? { value: t.value } : {}), effect: t.effect })),
    ready: ready ? ready.status === 'True' : true,
  };
}

export function gpusInUse(pods: readonly V1Pod[], gpuResource: string): Map<string, number> {
  const used = new Map<string, number>();
  for (const pod of pods) {
    const node = pod.spec?.nodeName;
    if (!node || pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') continue;
    let n = 0;
    for (const c of pod.spec?.containers ?? []) n += count(c.resources?.requests?.[gpuResource] ?? c.resources?.limits?.[gpuResource]);
    used.set(node, (used.get(node) ?? 0) + n);
  }
  return used;
}

export async function readCluster(kubeconfig: string | undefined, context: string | undefined, topologyName: string): Promise<{ nodes: NodeLike[]; topology: TopologySpec }> {
  const kc = new KubeConfig();
  if (kubeconfig) kc.loadFromFile(kubeconfig);
  else kc.loadFromDefault();
  if (context) kc.setCurrentContext(context);
  const custom = kc.makeApiClient(CustomObjectsApi);
  let topo: { spec?: TopologySpec };
  try {
    topo = (await custom.getClusterCustomObject({ group: 'moe.io', version: 'v1alpha1', plural: 'clustertopologies', name: topologyName })) as { spec?: TopologySpec };
  } catch (e) {
    throw new Error(`spec.topologyRef.name: ClusterTopology "${topologyName}" could not be read (${(e as Error).message.split('\n')[0]}); install the chart's default or name an existing one`);
  }
  if (!topo.spec) throw new Error(`spec.topologyRef.name: ClusterTopology "${topologyName}" has no spec`);
  const core = kc.makeApiClient(CoreV1Api);
  const [nodes, pods] = await Promise.all([core.listNode(), core.listPodForAllNamespaces({ fieldSelector: 'status.phase!=Succeeded,status.phase!=Failed' })]);
  const gpu = topo.spec.gpuResource ?? 'nvidia.com/gpu';
  const used = gpusInUse(pods.items, gpu);
  return { nodes: nodes.items.map((n) => toNodeLike(n, gpu, used.get(n.metadata?.name ?? '') ?? 0)), topology: topo.spec };
}
