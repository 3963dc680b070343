// Container environment as the kubelet builds it: literal values, field/config map/secret references, envFrom, and
// $(VAR) expansion; then paths rewritten from the pod's view (mount paths) to where the runner materialised them.
import type { V1Container, V1EnvVar, V1Pod } from '@kubernetes/client-node';

export interface Lookups {
  configMap(namespace: string, name: string): Promise<Record<string, string> | undefined>;
  secret(namespace: string, name: string): Promise<Record<string, string> | undefined>;
}

/** Reads a downward-API field path such as `metadata.labels['moe.io/rank']` from a pod. */
export function fieldValue(pod: V1Pod, path: string): string {
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (m) return (pod.metadata?.[m[1] as 'labels' | 'annotations'] ?? {})[m[2]!] ?? '';
  switch (path) {
    case 'metadata.name': return pod.metadata?.name ?? '';
    case 'metadata.namespace': return pod.metadata?.namespace ?? '';
    case 'metadata.uid': return pod.metadata?.uid ?? '';
    case 'spec.nodeName': return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName': return pod.spec?.serviceAccountName ?? '';
    case 'status.podIP': return pod.status?.podIP ?? '';
    case 'status.hostIP': return pod.status?.hostIP ?? '';
    case 'metadata.labels': return labelsText(pod.metadata?.labels);
    case 'metadata.annotations': return labelsText(pod.metadata?.annotations);
    default: throw new Error(`downward API field ${path} is not supported by the process runner`);
  }
}

function labelsText(m: Record<string, string> | undefined): string {
  return Object.entries(m ?? {}).sort().map(([k, v]) => `${k}="${v}"`).join('\n');
}

/** Kubernetes $(VAR) expansion: $(NAME) → value when defined, $$ → $, unknown references kept as written. */
export function expand(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (whole, name: string | undefined) => {
    if (whole === '$$') return '$';
    return name !== undefined && name in vars ? vars[name]! : whole;
  });
}

async function envVarValue(pod: V1Pod, e: V1EnvVar, vars: Record<string, string>, look: Lookups): Promise<string | undefined> {
  const ns = pod.metadata?.namespace ?? 'default';
  if (e.value !== undefined) return expand(e.value, vars);
  const from = e.valueFrom;
  if (!from) return '';
  if (from.fieldRef) return fieldValue(pod, from.fieldRef.fieldPath);
  if (from.configMapKeyRef) {
    const data = await look.configMap(ns, from.configMapKeyRef.name ?? '');
    const v = data?.[from.configMapKeyRef.key];
    if (v === undefined && !from.configMapKeyRef.optional) throw new Error(`env ${e.name}: config map ${ns}/${from.configMapKeyRef.name} key ${from.configMapKeyRef.key} not found`);
    return v;
  }
  if (from.secretKeyRef) {
    const data = await look.secret(ns, from.secretKeyRef.name ?? '');
    const v = data?.[from.secretKeyRef.key];
    if (v === undefined && !from.secretKeyRef.optional) throw new Error(`env ${e.name}: secret ${ns}/${from.secretKeyRef.name} key ${from.secretKeyRef.key} not found`);
    return v;
  }
  if (from.resourceFieldRef) {
    const [kind, res] = from.resourceFieldRef.resource.split('.') as ['limits' | 'requests', string];
    const c = pod.spec?.containers.find((x) => x.name === (from.resourceFieldRef?.containerName ?? x.name));
    return String(c?.resources?.[kind]?.[res] ?? '');
  }
  return '';
}

/** The container's environment, in the kubelet's order: envFrom first, then env (later entries win). */
export async function containerEnv(pod: V1Pod, c: V1Container, base: Record<string, string>, look: Lookups): Promise<Record<string, string>> {
  const ns = pod.metadata?.namespace ?? 'default';
  const vars: Record<string, string> = { ...base };
  for (const src of c.envFrom ?? []) {
    const ref = src.configMapRef ?? src.secretRef;
    if (!ref) continue;
    const data = src.configMapRef ? await look.configMap(ns, ref.name ?? '') : await look.secret(ns, ref.name ?? '');
    if (!data && !ref.optional) throw new Error(`envFrom: ${src.configMapRef ? 'config map' : 'secret'} ${ns}/${ref.name} not found`);
    for (const [k, v] of Object.entries(data ?? {})) vars[`${src.prefix ?? ''}${k}`] = v;
  }
  for (const e of c.env ?? []) {
    const v = await envVarValue(pod, e, vars, look);
    if (v !== undefined) vars[e.name] = v;
  }
  return vars;
}

/**
 * Rewrites absolute paths that fall under a mount point to where the runner put that volume, longest mount first,
 * so `/etc/moe/plan/plan.json` in an argument becomes `<pod dir>/root/etc/moe/plan/plan.json`.
 */
export function rewritePaths(text: string, mounts: Array<{ mountPath: string; hostPath: string }>): string {
  const sorted = [...mounts].sort((a, b) => b.mountPath.length - a.mountPath.length);
  for (const m of sorted) {
    const mp = m.mountPath.replace(/\/+$/, '');
    if (mp === '' || mp === m.hostPath) continue;
    // Only whole path components: /data must not match /database.
    const re = new RegExp(`(^|[=:\\s,'"])${mp.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?=$|[/\\s,:'"])`, 'g');
    text = text.replace(re, (_all, lead: string) => `${lead}${m.hostPath}`);
  }
  return text;
}
