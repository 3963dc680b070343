// The process runner: plays the kubelet for the nodes named on its command line. It keeps them Ready (node status +
// Lease heartbeats), runs the pods bound to them as local processes, reports pod status, and honours deletion.
// Probes are honoured as the kubelet does (see pod-process.ts): httpGet, tcpSocket and exec readiness, liveness and
// startup probes with their delays, periods, timeouts and thresholds; a container with a readiness probe is Ready only
// once it passes, and failures are pod events (Unhealthy). gRPC probes are reported unsupported and treated as passing.
// Test and demo infrastructure only: no isolation, no images.
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  CoordinationV1Api, CoreV1Api, KubeConfig, ListWatch, PatchStrategy, Watch, setHeaderOptions,
  type V1Lease, type V1Pod, type V1PodStatus,
} from '@kubernetes/client-node';
import { PodProcess } from './pod-process.js';
import { PodIpAllocator } from './pod-ip.js';

const { values } = parseArgs({
  options: {
    kubeconfig: { type: 'string' },
    'state-dir': { type: 'string' },
    nodes: { type: 'string' },
    'api-port': { type: 'string' },
  },
});
const stateDir = values['state-dir'] ?? fail('--state-dir is required');
const nodeNames = (values.nodes ?? fail('--nodes is required (comma-separated node names)')).split(',').filter(Boolean);
const apiPort = Number(values['api-port'] ?? fail('--api-port is required'));

function fail(msg: string): never {
  console.error(`runner: ${msg}`);
  process.exit(2);
}
function log(msg: string): void {
  console.log(`${new Date().toISOString()} ${msg}`);
}

const kc = new KubeConfig();
kc.loadFromFile(values.kubeconfig ?? fail('--kubeconfig is required'));
const core = kc.makeApiClient(CoreV1Api);
const coord = kc.makeApiClient(CoordinationV1Api);
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const pidsDir = join(stateDir, 'pids');
const hostsFile = join(stateDir, 'hosts');
const pods = new Map<string, { proc: PodProcess; uid: string; hosts: string[] }>();
const statusChains = new Map<string, Promise<void>>();
const ips = new PodIpAllocator();

function is404(err: unknown): boolean {
  const e = err as { code?: number; statusCode?: number };
  return e?.code === 404 || e?.statusCode === 404;
}

// ---- node heartbeats ------------------------------------------------------------------------------------------
async function heartbeat(node: string): Promise<void> {
  const now = new Date();
  const cond = (type: string, status: string, reason: string) => ({ type, status, reason, lastHeartbeatTime: now, lastTransitionTime: now });
  await core.patchNodeStatus({
    name: node,
    body: {
      status: {
        conditions: [
          cond('Ready', 'True', 'KubeletReady'), cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory'),
          cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure'), cond('PIDPressure', 'False', 'KubeletHasSufficientPID'),
        ],
        addresses: [{ type: 'InternalIP', address: '127.0.0.1' }, { type: 'Hostname', address: node }],
        nodeInfo: {
          architecture: 'amd64', operatingSystem: 'linux', kubeletVersion: 'moe-process-runner', kubeProxyVersion: '',
          bootID: '', containerRuntimeVersion: 'process://', kernelVersion: '', machineID: '', osImage: 'local processes', systemUUID: '',
        },
      },
    },
  }, mergePatch);
  const ns = 'kube-node-lease';
  try {
    await coord.readNamespacedLease({ name: node, namespace: ns });
  } catch (err) {
    if (!is404(err)) throw err;
    const lease: V1Lease = { metadata: { name: node, namespace: ns }, spec: { holderIdentity: node, leaseDurationSeconds: 40 } };
    await coord.createNamespacedLease({ namespace: ns, body: lease });
  }
  // Lease times are MicroTime (six fractional digits); client-node writes Dates with three, which the server rejects.
  const renewTime = now.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
  await coord.patchNamespacedLease({ name: node, namespace: ns, body: { spec: { renewTime } } }, mergePatch);
}

function startHeartbeats(): void {
  const beat = () => {
    for (const n of nodeNames) heartbeat(n).catch((err) => log(`heartbeat ${n}: ${(err as Error).message}`));
  };
  beat();
  setInterval(beat, 10_000);
}

// ---- pods ---------------------------------------------------------------------------------------------------------
function writeHosts(): void {
  const lines = [...pods.values()].flatMap((p) => p.hosts);
  const tmp = `${hostsFile}.tmp`;
  writeFileSync(tmp, lines.join('\n') + '\n');
  renameSync(tmp, hostsFile);
}

function report(pod: V1Pod, status: V1PodStatus): void {
  const key = pod.metadata!.uid!;
  const prev = statusChains.get(key) ?? Promise.resolve();
  const next = prev.then(() => core.patchNamespacedPodStatus({
    name: pod.metadata!.name!, namespace: pod.metadata!.namespace!, body: { status },
  }, mergePatch).then(() => undefined)).catch((err) => {
    if (!is404(err)) log(`status ${pod.metadata?.namespace}/${pod.metadata?.name}: ${(err as Error).message}`);
  });
  statusChains.set(key, next);
}

// Core v1 events, as the kubelet writes them; kubectl describe pod shows them.
function event(pod: V1Pod, type: 'Normal' | 'Warning', reason: string, message: string): void {
  const m = pod.metadata!;
  const now = new Date();
  log(`${m.namespace}/${m.name}: ${reason}: ${message}`);
  core.createNamespacedEvent({
    namespace: m.namespace!,
    body: {
      metadata: { name: `${m.name}.${randomBytes(8).toString('hex')}`, namespace: m.namespace },
      involvedObject: { kind: 'Pod', apiVersion: 'v1', name: m.name, namespace: m.namespace, uid: m.uid },
      type, reason, message, count: 1, firstTimestamp: now, lastTimestamp: now,
      source: { component: 'kubelet', host: pod.spec?.nodeName }, reportingComponent: 'kubelet', reportingInstance: pod.spec?.nodeName ?? '',
    },
  }).catch((err) => log(`event ${m.namespace}/${m.name} ${reason}: ${(err as Error).message}`));
}

async function lookupConfigMap(ns: string, name: string): Promise<Record<string, string> | undefined> {
  try {
    const cm = await core.readNamespacedConfigMap({ name, namespace: ns });
    const bin = Object.fromEntries(Object.entries(cm.binaryData ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('latin1')]));
    return { ...(cm.data ?? {}), ...bin };
  } catch (err) {
    if (is404(err)) return undefined;
    throw err;
  }
}

async function lookupSecret(ns: string, name: string): Promise<Record<string, string> | undefined> {
  try {
    const s = await core.readNamespacedSecret({ name, namespace: ns });
    return Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
  } catch (err) {
    if (is404(err)) return undefined;
    throw err;
  }
}

async function token(ns: string, sa: string, pod: V1Pod, audience: string | undefined, seconds: number): Promise<string> {
  const tr = await core.createNamespacedServiceAccountToken({
    name: sa, namespace: ns,
    body: {
      spec: {
        audiences: audience ? [audience] : [],
        expirationSeconds: Math.max(seconds, 600),
        boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: pod.metadata!.name!, uid: pod.metadata!.uid! },
      },
    },
  });
  return tr.status?.token ?? '';
}

function hostsLines(pod: V1Pod, ip: string): string[] {
  const ns = pod.metadata!.namespace!;
  const host = pod.spec?.hostname ?? pod.metadata!.name!;
  const names = [host];
  if (pod.spec?.subdomain) {
    const sd = pod.spec.subdomain;
    names.push(`${host}.${sd}`, `${host}.${sd}.${ns}`, `${host}.${sd}.${ns}.svc`, `${host}.${sd}.${ns}.svc.cluster.local`);
  }
  const aliases = (pod.spec?.hostAliases ?? []).map((a) => `${a.ip} ${(a.hostnames ?? []).join(' ')}`);
  return [`${ip} ${names.join(' ')}`, ...aliases];
}

async function onPod(pod: V1Pod): Promise<void> {
  const uid = pod.metadata?.uid;
  if (!uid) return;
  const known = pods.get(uid);
  if (pod.metadata?.deletionTimestamp) {
    if (known) {
      log(`stopping ${known.proc.key}`);
      await known.proc.stop(pod.metadata.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30);
      pods.delete(uid);
      ips.release(uid);
      statusChains.delete(uid);
      writeHosts();
    }
    // As the kubelet does: once the containers are gone, finish the deletion. The grace period goes in the body:
    // client-node 2.0.1 sends the query parameter, but the server reads the (defaulted) body first.
    log(`deleting ${pod.metadata.namespace}/${pod.metadata.name}: its processes have ended`);
    await core.deleteNamespacedPod({ name: pod.metadata.name!, namespace: pod.metadata.namespace!, gracePeriodSeconds: 0, body: { gracePeriodSeconds: 0, preconditions: { uid } } })
      .catch((err) => { if (!is404(err)) log(`delete ${pod.metadata?.name}: ${(err as Error).message}`); });
    return;
  }
  if (known || pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return;
  const ip = ips.ipFor(uid);
  const podDir = join(stateDir, 'pods', `${pod.metadata!.namespace}_${pod.metadata!.name}_${uid}`);
  const proc = new PodProcess(pod, {
    podDir, stateDir, pidsDir, hostsFile, apiServerHost: '127.0.0.1', apiServerPort: apiPort, podIP: ip,
    configMap: lookupConfigMap, secret: lookupSecret, token, report: (s) => report(pod, s), log,
    event: (type, reason, message) => event(pod, type, reason, message),
  });
  pods.set(uid, { proc, uid, hosts: hostsLines(pod, ip) });
  writeHosts();
  log(`starting ${proc.key} on ${pod.spec?.nodeName} as ${ip}`);
  await proc.start();
}

async function onPodGone(pod: V1Pod): Promise<void> {
  const uid = pod.metadata?.uid;
  const known = uid ? pods.get(uid) : undefined;
  if (!known || !uid) return;
  await known.proc.stop(0);
  pods.delete(uid);
  ips.release(uid);
  statusChains.delete(uid);
  writeHosts();
}

function watchNode(node: string): void {
  const fieldSelector = `spec.nodeName=${node}`;
  const lw = new ListWatch<V1Pod>('/api/v1/pods', new Watch(kc),
    () => core.listPodForAllNamespaces({ fieldSelector }), true, undefined, fieldSelector);
  const handle = (p: V1Pod) => void onPod(p).catch((err) => log(`pod ${p.metadata?.name}: ${(err as Error).stack}`));
  lw.on('add', handle);
  lw.on('update', handle);
  lw.on('delete', (p) => void onPodGone(p));
  lw.on('error', (err) => {
    log(`watch ${node}: ${String(err)}; restarting in 1 s`);
    setTimeout(() => void lw.start(), 1000);
  });
}

async function shutdown(): Promise<void> {
  log('runner stopping: terminating every pod process');
  await Promise.all([...pods.values()].map((p) => p.proc.stop(2)));
  process.exit(0);
}

mkdirSync(pidsDir, { recursive: true });
rmSync(hostsFile, { force: true });
writeHosts();
process.on('SIGTERM', () => void shutdown());
process.on('SIGINT', () => void shutdown());
startHeartbeats();
for (const n of nodeNames) watchNode(n);
log(`runner up for nodes ${nodeNames.join(', ')}`);
