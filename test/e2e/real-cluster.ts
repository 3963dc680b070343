// The end-to-end tests' cluster: two real nodes (kubelet + containerd) running the project's runtime image, a
// namespace under Pod Security `restricted`, and a shared checkpoint volume as a user's cluster would have one (a
// PersistentVolume over a folder of this machine, bound to a claim in the namespace; on a real cluster, NFS/Lustre).
import { chmodSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startCluster, type LocalCluster } from '../cluster/index.js';
import { image } from '../cluster/images.js';
import { applyYaml } from '../integration/operator/harness.js';

export const RUNTIME_IMAGE = (): string => image('runtime').name;

export async function startRealCluster(): Promise<LocalCluster> {
  return startCluster({
    fleet: { spines: 0, leavesPerSpine: 0, nodesPerLeaf: 0, gpusPerNode: 8 },
    realNodes: 2, images: [image('runtime').archive], timeoutMs: 180_000,
  });
}

/** A restricted namespace with a claim `checkpoints` bound to a fresh folder of this machine; returns the folder. */
export async function restrictedNamespaceWithVolume(c: LocalCluster, ns: string): Promise<string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `moe-e2e-${ns}-`));
  // The runtime image runs as 65532: the folder plays a shared filesystem every rank may write.
  chmodSync(dir, 0o777);
  await c.kubectl(['create', 'namespace', ns]);
  await c.kubectl(['label', 'namespace', ns, 'pod-security.kubernetes.io/enforce=restricted']);
  await applyYaml(c, `apiVersion: v1
kind: PersistentVolume
metadata: {name: ${ns}-checkpoints}
spec:
  capacity: {storage: 10Gi}
  accessModes: [ReadWriteMany]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: moe-local-shared
  claimRef: {namespace: ${ns}, name: checkpoints}
  hostPath: {path: ${JSON.stringify(dir)}, type: Directory}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: checkpoints, namespace: ${ns}}
spec:
  accessModes: [ReadWriteMany]
  storageClassName: moe-local-shared
  resources: {requests: {storage: 10Gi}}
  volumeName: ${ns}-checkpoints
`);
  return dir;
}

/** A container's log through the kubelet (`kubectl logs`), or the error saying why not, for failure messages. */
export async function podLogs(c: LocalCluster, ns: string, pods: string[], lines = 15): Promise<string> {
  const out: string[] = [];
  for (const p of pods) {
    let text: string;
    try { text = await c.kubectl(['-n', ns, 'logs', p, `--tail=${lines}`]); } catch (err) { text = (err as Error).message; }
    out.push(`--- ${p}\n${text}`);
  }
  return out.join('\n');
}
