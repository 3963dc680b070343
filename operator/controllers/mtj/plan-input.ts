// Pure: turns cached Nodes and the pods of other MoE jobs into the planner's NodeLike view (free GPUs per node).
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import type { NodeLike } from '../../plan/types.js';

/** GPUs a pod holds or will hold on a node: bound pods by nodeName, gated pods by their hostname node selector. */
function podNode(p: V1Pod): string | undefined {
  return p.spec?.nodeName ?? p.spec?.nodeSelector?.['kubernetes.io/hostname'];
}

function podGpus(p: V1Pod, gpuResource: string): number {
  let n = 0;
  for (const c of p.spec?.containers ?? []) n += Number(c.resources?.requests?.[gpuResource] ?? c.resources?.limits?.[gpuResource] ?? 0);
  return n;
}

export function gpusInUse(pods: readonly V1Pod[], gpuResource: string, excludeJob: string, excludeNamespace: string): Map<string, number> {
  const used = new Map<string, number>();
  for (const p of pods) {
    if (p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') continue;
    if (p.metadata?.namespace === excludeNamespace && p.metadata?.labels?.['moe.io/job-name'] === excludeJob) continue;
    const node = podNode(p);
    if (!node) continue;
    used.set(node, (used.get(node) ?? 0) + podGpus(p, gpuResource));
  }
  return used;
}

export function toNodeLike(nodes: readonly V1Node[], used: Map<string, number>, gpuResource: string): NodeLike[] {
  return nodes.map((n) => {
    const name = n.metadata?.name ?? '';
    const alloc = Number(n.status?.allocatable?.[gpuResource] ?? 0);
    const ready = n.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    const out: NodeLike = { name, labels: { ...(n.metadata?.labels ?? {}) }, allocatableGpus: Math.max(0, alloc - (used.get(name) ?? 0)), ready };
    if (n.spec?.unschedulable) out.unschedulable = true;
    if (n.spec?.taints?.length) out.taints = n.spec.taints.map((t) => ({ key: t.key, effect: t.effect, ...(t.value !== undefined ? { value: t.value } : {}) }));
    return out;
  });
}
