// Pure readers of an InferenceDeployment's (defaulted) spec: the resolved shape of each role and the rollout bounds.
import type { RoleName } from '../../api/constants.js';
import type { IInferenceDeployment, IInferenceDeploymentSpecRolesDecode } from '../../api/types.gen.js';

export interface RoleShape {
  role: RoleName;
  /** The deployment's spec.roles.<role>.replicas (the InferenceRole's spec.replicas is the live count). */
  specReplicas: number;
  pods: number;
  gpusPerPod: number;
  /** GPUs of one replica = the expert-parallel size. */
  ep: number;
  tp: number;
  dp: number;
  redundantExperts: number;
  maxBatch: number;
  maxQueue: number;
  /** Speculative decoding (the decode role's spec.roles.decode.speculative). */
  speculative?: { method: 'mtp'; tokens: number };
}

export function roleShape(d: IInferenceDeployment, role: RoleName): RoleShape {
  const r: IInferenceDeploymentSpecRolesDecode = d.spec.roles?.[role] ?? {};
  const pods = r.podsPerReplica ?? 1;
  const gpusPerPod = r.gpusPerPod ?? 8;
  const g = pods * gpusPerPod;
  const tp = r.parallelism?.tensor ?? 1;
  return {
    role,
    specReplicas: r.replicas ?? 1,
    pods,
    gpusPerPod,
    ep: r.parallelism?.expert ?? g,
    tp,
    dp: r.parallelism?.data ?? Math.max(1, Math.floor(g / tp)),
    redundantExperts: r.redundantExperts ?? 0,
    maxBatch: r.maxBatch ?? 64,
    maxQueue: r.maxQueue ?? 256,
    ...(r.speculative ? { speculative: { method: r.speculative.method, tokens: r.speculative.tokens ?? 1 } } : {}),
  };
}

/** Parses an int-or-percent value; undefined when malformed. */
export function parseIntOrPercent(v: number | string | undefined): { value: number; percent: boolean } | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 ? { value: v, percent: false } : undefined;
  const m = /^(\d+)%$/.exec(v);
  return m ? { value: Number(m[1]), percent: true } : undefined;
}

/** maxSurge (rounded up) and maxUnavailable (rounded down) for a role of `replicas`, as Deployments resolve them. */
export function rolloutBounds(d: IInferenceDeployment, replicas: number): { maxSurge: number; maxUnavailable: number } {
  const s = parseIntOrPercent(d.spec.rollout?.maxSurge ?? 1) ?? { value: 1, percent: false };
  const u = parseIntOrPercent(d.spec.rollout?.maxUnavailable ?? 0) ?? { value: 0, percent: false };
  const maxSurge = s.percent ? Math.ceil((s.value * replicas) / 100) : s.value;
  let maxUnavailable = u.percent ? Math.floor((u.value * replicas) / 100) : u.value;
  // Both 0 after rounding would stall the rollout: allow one unavailable gang, as Deployments do.
  if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  return { maxSurge, maxUnavailable };
}

export function servedModelName(d: IInferenceDeployment): string {
  return d.spec.servedModelName || d.metadata!.name!;
}

/** file:///a/b → /a/b (the path the pods see). */
export function uriPath(uri: string): string {
  return uri.startsWith('file://') ? uri.slice('file://'.length) : uri;
}
