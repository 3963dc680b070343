// The local cluster end to end: real control plane up, simulated GPU nodes Ready, a GPU pod scheduled onto one and
// Running, pods run as processes by the runner (env, volumes, service-account token, logs, deletion), clean stop.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { startCluster, type LocalCluster } from '../../cluster/index.js';
import { isAlive } from '../../cluster/processes.js';
import { repoRoot } from '../../cluster/binaries.js';
import { eventually } from '../../util/poll.js';

const NS = 'smoke';
let c: LocalCluster;
let api: CoreV1Api;

function runnerPod(name: string, command: string[], extra: Partial<V1Pod['spec']> = {}): V1Pod {
  return {
    metadata: { name, namespace: NS, labels: { app: 'smoke' } },
    spec: {
      restartPolicy: 'Never',
      nodeSelector: { 'moe.io/process-runner': 'true' },
      terminationGracePeriodSeconds: 2,
      containers: [{ name: 'main', image: 'none', command }],
      ...extra,
    } as V1Pod['spec'],
  };
}

async function phaseOf(name: string): Promise<string | undefined> {
  return (await api.readNamespacedPod({ name, namespace: NS })).status?.phase;
}

describe('local cluster', () => {
  before(async () => {
    c = await startCluster({ fleet: { spines: 1, leavesPerSpine: 2, nodesPerLeaf: 2, gpusPerNode: 8 }, runnerNodes: 1 });
    api = c.kubeConfig().makeApiClient(CoreV1Api);
    await api.createNamespace({ body: { metadata: { name: NS } } });
    // The namespace's default ServiceAccount comes from the controller manager.
    await eventually(() => api.readNamespacedServiceAccount({ name: 'default', namespace: NS }), { what: 'default ServiceAccount in smoke' });
  });
  after(async () => { await c?.stop(); });

  test('the API server reports the pinned Kubernetes release', async () => {
    const version = JSON.parse(await c.kubectl(['version', '-o', 'json'])) as { serverVersion: { gitVersion: string } };
    const pinned = /KUBE_VERSION=(\S+)/.exec(readFileSync(join(repoRoot(), 'test', 'cluster', 'versions.env'), 'utf8'))![1];
    assert.equal(version.serverVersion.gitVersion, pinned);
  });

  test('kubectl lists the simulated fleet with topology labels and GPU capacity, all Ready', async () => {
    const nodes = JSON.parse(await c.kubectl(['get', 'nodes', '-o', 'json'])) as { items: Array<{ metadata: { name: string; labels: Record<string, string> }; status: { allocatable: Record<string, string>; conditions: Array<{ type: string; status: string }> } }> };
    const names = nodes.items.map((n) => n.metadata.name).sort();
    assert.deepEqual(names, ['gpu-s0-l0-n0', 'gpu-s0-l0-n1', 'gpu-s0-l1-n0', 'gpu-s0-l1-n1', 'runner-0']);
    const n = nodes.items.find((x) => x.metadata.name === 'gpu-s0-l1-n0')!;
    assert.equal(n.metadata.labels['moe.io/leaf'], 's0-l1');
    assert.equal(n.status.allocatable['nvidia.com/gpu'], '8');
    for (const node of nodes.items) assert.ok(node.status.conditions.some((x) => x.type === 'Ready' && x.status === 'True'), `${node.metadata.name} Ready`);
  });

  test('a pod asking for 8 GPUs on leaf s0-l1 is scheduled there by kube-scheduler and Running', async () => {
    await api.createNamespacedPod({ namespace: NS, body: {
      metadata: { name: 'gpu-pod' },
      spec: { nodeSelector: { 'moe.io/leaf': 's0-l1' }, containers: [{ name: 'c', image: 'trainer', resources: { limits: { 'nvidia.com/gpu': '8' } } }] },
    } });
    const pod = await eventually(async () => {
      const p = await api.readNamespacedPod({ name: 'gpu-pod', namespace: NS });
      return p.status?.phase === 'Running' ? p : undefined;
    }, { what: 'gpu-pod Running' });
    assert.match(pod.spec!.nodeName!, /^gpu-s0-l1-n[01]$/);
    const events = await api.listNamespacedEvent({ namespace: NS, fieldSelector: 'involvedObject.name=gpu-pod,reason=Scheduled' });
    assert.ok(events.items.length > 0, 'a Scheduled event from kube-scheduler');
  });

  test('the runner runs a pod as a process with env, config map and downward-API volumes, and keeps its log', async () => {
    await api.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'cfg' }, data: { 'greeting.txt': 'hello from a config map' } } });
    await api.createNamespacedPod({ namespace: NS, body: runnerPod('hello', [], {
      containers: [{
        name: 'main', image: 'none', command: ['sh', '-c', 'echo "pod=$POD_NAME ip=$POD_IP"; cat /etc/cfg/greeting.txt; echo; cat /etc/info/labels'],
        env: [
          { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
        ],
        volumeMounts: [{ name: 'cfg', mountPath: '/etc/cfg' }, { name: 'info', mountPath: '/etc/info' }],
      }],
      volumes: [
        { name: 'cfg', configMap: { name: 'cfg' } },
        { name: 'info', downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }] } },
      ],
    }) });
    await eventually(async () => (await phaseOf('hello')) === 'Succeeded', { what: 'hello Succeeded' });
    const log = c.podLog(NS, 'hello', 'main');
    assert.match(log, /pod=hello ip=127\.1\.\d+\.\d+/);
    assert.match(log, /hello from a config map/);
    assert.match(log, /app="smoke"/);
    const pod = await api.readNamespacedPod({ name: 'hello', namespace: NS });
    assert.equal(pod.spec?.nodeName, 'runner-0');
    assert.equal(pod.status?.containerStatuses?.[0]?.state?.terminated?.exitCode, 0);
  });

  test('a failing process makes the pod Failed with its exit code', async () => {
    await api.createNamespacedPod({ namespace: NS, body: runnerPod('fails', ['sh', '-c', 'echo boom >&2; exit 3']) });
    await eventually(async () => (await phaseOf('fails')) === 'Failed', { what: 'fails Failed' });
    const pod = await api.readNamespacedPod({ name: 'fails', namespace: NS });
    assert.equal(pod.status?.containerStatuses?.[0]?.state?.terminated?.exitCode, 3);
    assert.match(c.podLog(NS, 'fails', 'main'), /boom/);
  });

  test('the projected service-account token authenticates the pod to the API server as its ServiceAccount', async () => {
    const sa = '/var/run/secrets/kubernetes.io/serviceaccount';
    const kubectl = join(c.binDir, 'kubectl');
    await api.createNamespacedPod({ namespace: NS, body: runnerPod('whoami', ['sh', '-c',
      `${kubectl} --server=https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT --certificate-authority=${sa}/ca.crt ` +
      `--token="$(cat ${sa}/token)" -n "$(cat ${sa}/namespace)" auth whoami -o jsonpath='{.status.userInfo.username}'`]) });
    await eventually(async () => ['Succeeded', 'Failed'].includes((await phaseOf('whoami')) ?? ''), { what: 'whoami finished' });
    assert.equal(c.podLog(NS, 'whoami', 'main').trim(), `system:serviceaccount:${NS}:default`);
  });

  test('deleting a running pod stops its process within the grace period and removes the pod', async () => {
    await api.createNamespacedPod({ namespace: NS, body: runnerPod('sleeper', ['sleep', '300']) });
    const pid = await eventually(async () => {
      const p = await api.readNamespacedPod({ name: 'sleeper', namespace: NS });
      const id = p.status?.containerStatuses?.[0]?.containerID;
      return id?.startsWith('process://') ? Number(id.slice('process://'.length)) : undefined;
    }, { what: 'sleeper running' });
    assert.ok(isAlive(pid));
    await api.deleteNamespacedPod({ name: 'sleeper', namespace: NS });
    await eventually(async () => {
      try { await api.readNamespacedPod({ name: 'sleeper', namespace: NS }); return false; } catch { return true; }
    }, { what: 'sleeper deleted', timeoutMs: 15_000 });
    assert.equal(isAlive(pid), false, 'the sleep process is gone');
  });

  test('stop() ends every component and removes the state folder', async () => {
    const pidsDir = join(c.stateDir, 'pids');
    const pids = readdirSync(pidsDir).map((f) => Number(readFileSync(join(pidsDir, f), 'utf8')));
    assert.ok(pids.length >= 6, `expected etcd, apiserver, scheduler, controller-manager, kwok, runner; got ${pids.length}`);
    await c.stop();
    for (const p of pids) assert.equal(isAlive(p), false, `process ${p} still alive`);
    assert.equal(existsSync(c.stateDir), false);
  });
});
