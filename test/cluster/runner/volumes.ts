// Materialises a pod's volumes as folders under its pod directory, and mounts as symbolic links under <pod>/root so
// that any path P the container sees is <pod>/root/P on this machine (MOE_POD_ROOT in the process's environment).
import { mkdirSync, rmSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { V1Container, V1KeyToPath, V1Pod, V1Volume, V1VolumeProjection } from '@kubernetes/client-node';
import { fieldValue, type Lookups } from './env.js';

export interface VolumeContext extends Lookups {
  podDir: string;
  stateDir: string;
  /** A bound service-account token for the pod (TokenRequest), for projected serviceAccountToken sources. */
  token(namespace: string, serviceAccount: string, pod: V1Pod, audience: string | undefined, seconds: number): Promise<string>;
}

export interface Mount { mountPath: string; hostPath: string }

function writeFile(dir: string, rel: string, content: string | Buffer, mode?: number): void {
  if (rel.split('/').includes('..')) throw new Error(`volume item path ${rel} may not contain '..'`);
  const path = join(dir, rel);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  if (mode !== undefined) chmodSync(path, mode);
}

function writeKeys(dir: string, data: Record<string, string | Buffer>, items: V1KeyToPath[] | undefined, mode: number | undefined, what: string): void {
  if (items?.length) {
    for (const it of items) {
      const v = data[it.key];
      if (v === undefined) throw new Error(`${what}: key ${it.key} not found`);
      writeFile(dir, it.path, v, it.mode ?? mode);
    }
  } else {
    for (const [k, v] of Object.entries(data)) writeFile(dir, k, v, mode);
  }
}

async function configMapData(ctx: VolumeContext, ns: string, name: string, optional: boolean | undefined, what: string): Promise<Record<string, string>> {
  const d = await ctx.configMap(ns, name);
  if (!d && !optional) throw new Error(`${what}: config map ${ns}/${name} not found`);
  return d ?? {};
}

async function secretData(ctx: VolumeContext, ns: string, name: string, optional: boolean | undefined, what: string): Promise<Record<string, Buffer>> {
  const d = await ctx.secret(ns, name);
  if (!d && !optional) throw new Error(`${what}: secret ${ns}/${name} not found`);
  return Object.fromEntries(Object.entries(d ?? {}).map(([k, v]) => [k, Buffer.from(v, 'utf8')]));
}

async function projection(ctx: VolumeContext, pod: V1Pod, dir: string, p: V1VolumeProjection, mode: number | undefined, what: string): Promise<void> {
  const ns = pod.metadata?.namespace ?? 'default';
  if (p.configMap) writeKeys(dir, await configMapData(ctx, ns, p.configMap.name ?? '', p.configMap.optional, what), p.configMap.items, mode, what);
  if (p.secret) writeKeys(dir, await secretData(ctx, ns, p.secret.name ?? '', p.secret.optional, what), p.secret.items, mode, what);
  if (p.downwardAPI) {
    for (const it of p.downwardAPI.items ?? []) {
      if (it.fieldRef) writeFile(dir, it.path, fieldValue(pod, it.fieldRef.fieldPath), it.mode ?? mode);
    }
  }
  if (p.serviceAccountToken) {
    const sa = pod.spec?.serviceAccountName ?? 'default';
    const token = await ctx.token(ns, sa, pod, p.serviceAccountToken.audience, p.serviceAccountToken.expirationSeconds ?? 3607);
    writeFile(dir, p.serviceAccountToken.path, token, mode ?? 0o600);
  }
}

async function materialise(ctx: VolumeContext, pod: V1Pod, v: V1Volume): Promise<string> {
  const ns = pod.metadata?.namespace ?? 'default';
  const what = `volume ${v.name}`;
  if (v.hostPath) {
    if (v.hostPath.type === 'DirectoryOrCreate') mkdirSync(v.hostPath.path, { recursive: true });
    return v.hostPath.path;
  }
  if (v.persistentVolumeClaim) {
    // PVC-like: one folder per claim, shared by every pod that mounts it, kept until `cluster down`.
    const dir = join(ctx.stateDir, 'pvc', ns, v.persistentVolumeClaim.claimName);
    mkdirSync(dir, { recursive: true });
    return dir;
  }
  const dir = join(ctx.podDir, 'volumes', v.name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  if (v.emptyDir) return dir;
  if (v.configMap) {
    writeKeys(dir, await configMapData(ctx, ns, v.configMap.name ?? '', v.configMap.optional, what), v.configMap.items, v.configMap.defaultMode, what);
  } else if (v.secret) {
    writeKeys(dir, await secretData(ctx, ns, v.secret.secretName ?? '', v.secret.optional, what), v.secret.items, v.secret.defaultMode, what);
  } else if (v.downwardAPI) {
    await projection(ctx, pod, dir, { downwardAPI: v.downwardAPI }, v.downwardAPI.defaultMode, what);
  } else if (v.projected) {
    for (const src of v.projected.sources ?? []) await projection(ctx, pod, dir, src, v.projected.defaultMode, what);
  } else {
    const kind = Object.keys(v).filter((k) => k !== 'name').join(',') || 'unknown';
    throw new Error(`${what}: type ${kind} is not supported by the process runner (supported: emptyDir, configMap, secret, downwardAPI, projected, hostPath, persistentVolumeClaim)`);
  }
  return dir;
}

/** Creates every volume of the pod; returns volume name → folder on this machine. */
export async function materialiseVolumes(ctx: VolumeContext, pod: V1Pod): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const v of pod.spec?.volumes ?? []) out.set(v.name, await materialise(ctx, pod, v));
  return out;
}

/** Links each of the container's mounts under <pod>/root and returns the path mapping for rewriting. */
export function mountContainer(podDir: string, c: V1Container, volumes: Map<string, string>): Mount[] {
  const root = join(podDir, 'root');
  const mounts: Mount[] = [];
  for (const m of c.volumeMounts ?? []) {
    const vol = volumes.get(m.name);
    if (vol === undefined) throw new Error(`container ${c.name}: volumeMount ${m.name} names no volume of the pod`);
    const target = m.subPath ? join(vol, m.subPath) : vol;
    if (m.subPath) mkdirSync(target, { recursive: true });
    const link = join(root, m.mountPath);
    mkdirSync(dirname(link), { recursive: true });
    rmSync(link, { recursive: true, force: true });
    symlinkSync(target, link);
    mounts.push({ mountPath: m.mountPath, hostPath: link });
  }
  return mounts;
}
