// The process runner honours probes: a container with a readiness probe is Running but not Ready until the probe
// passes (httpGet on a named port, tcpSocket, exec after a startup probe), drops out of Ready when it fails again, and a
// failing liveness probe restarts the container. A container without probes is Ready as soon as it runs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, type V1Container, type V1Pod } from '@kubernetes/client-node';
import { startCluster, type LocalCluster } from '../../cluster/index.js';
import { eventually } from '../../util/poll.js';

const NS = 'probes';
let c: LocalCluster;
let api: CoreV1Api;
let dir: string;

// Answers /readyz 503 until READY_AFTER_MS after it started, 200 until UNREADY_AFTER_MS, then 503 again.
const HTTP_SERVER = `import { createServer } from 'node:http';
const t0 = Date.now();
const from = Number(process.env.READY_AFTER_MS), until = Number(process.env.UNREADY_AFTER_MS);
createServer((req, res) => {
  const age = Date.now() - t0;
  const code = req.url !== '/readyz' ? 404 : age >= from && age < until ? 200 : 503;
  console.log(req.method + ' ' + req.url + ' ' + code + ' at ' + age + ' ms');
  res.writeHead(code).end();
}).listen(Number(process.env.PORT), process.env.POD_IP);
`;
// Opens its TCP port only after LISTEN_AFTER_MS.
const TCP_SERVER = `import { createServer } from 'node:net';
setTimeout(() => createServer((s) => s.end()).listen(Number(process.env.PORT), process.env.POD_IP), Number(process.env.LISTEN_AFTER_MS));
setInterval(() => {}, 1 << 30);
`;

const podIP = { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } };

function pod(name: string, container: Omit<V1Container, 'name' | 'image'>): V1Pod {
  return {
    metadata: { name, namespace: NS },
    spec: {
      nodeSelector: { 'moe.io/process-runner': 'true' }, terminationGracePeriodSeconds: 1,
      containers: [{ name: 'main', image: 'none', ...container }],
    },
  };
}

interface Seen { phase?: string; ready?: string; containerReady?: boolean; started?: boolean; running: boolean; restarts: number }
async function seen(name: string): Promise<Seen> {
  const p = await api.readNamespacedPod({ name, namespace: NS });
  const cs = p.status?.containerStatuses?.[0];
  return {
    phase: p.status?.phase, ready: p.status?.conditions?.find((x) => x.type === 'Ready')?.status,
    containerReady: cs?.ready, started: cs?.started, running: !!cs?.state?.running, restarts: cs?.restartCount ?? 0,
  };
}
const runningProcess = (name: string) => eventually(async () => {
  const s = await seen(name);
  return s.phase === 'Running' && s.running ? s : undefined;
}, { what: `${name} Running with its process started` });
const readyPod = (name: string) => eventually(async () => {
  const s = await seen(name);
  return s.ready === 'True' ? s : undefined;
}, { what: `${name} Ready`, timeoutMs: 20_000 });

async function events(name: string, reason: string): Promise<string[]> {
  const list = await api.listNamespacedEvent({ namespace: NS, fieldSelector: `involvedObject.name=${name},reason=${reason}` });
  return list.items.map((e) => e.message ?? '');
}

describe('process runner probes', () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'runner-probes-'));
    writeFileSync(join(dir, 'http.mjs'), HTTP_SERVER);
    writeFileSync(join(dir, 'tcp.mjs'), TCP_SERVER);
    c = await startCluster({ fleet: { spines: 0, leavesPerSpine: 0, nodesPerLeaf: 0, gpusPerNode: 8 }, runnerNodes: 1 });
    api = c.kubeConfig().makeApiClient(CoreV1Api);
    await api.createNamespace({ body: { metadata: { name: NS } } });
    await eventually(() => api.readNamespacedServiceAccount({ name: 'default', namespace: NS }), { what: 'default ServiceAccount' });
  });
  after(async () => {
    await c?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('an httpGet readiness probe on a named port: Running but not Ready while /readyz answers 503, Ready on 200, not Ready again on 503', async () => {
    await api.createNamespacedPod({ namespace: NS, body: pod('http', {
      command: [process.execPath, join(dir, 'http.mjs')],
      ports: [{ name: 'http', containerPort: 8080 }],
      env: [podIP, { name: 'PORT', value: '8080' }, { name: 'READY_AFTER_MS', value: '2000' }, { name: 'UNREADY_AFTER_MS', value: '6000' }],
      readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 1, failureThreshold: 2 },
    }) });
    const first = await runningProcess('http');
    const tRunning = Date.now();
    assert.equal(first.ready, 'False', 'Ready while /readyz still answers 503');
    assert.equal(first.containerReady, false);
    assert.equal(first.started, true);
    await readyPod('http');
    const waited = Date.now() - tRunning;
    assert.ok(waited >= 1000, `Ready ${waited} ms after Running: before /readyz could answer 200`);
    const log = c.podLog(NS, 'http', 'main');
    assert.match(log, /GET \/readyz 503/);
    assert.match(log, /GET \/readyz 200/);
    // From 6 s /readyz fails again: two failures in a row (failureThreshold 2) take the pod out of Ready, still Running.
    const dropped = await eventually(async () => {
      const s = await seen('http');
      return s.ready === 'False' ? s : undefined;
    }, { what: 'http not Ready again', timeoutMs: 20_000 });
    assert.equal(dropped.phase, 'Running');
    assert.equal(dropped.running, true);
    assert.equal(dropped.restarts, 0, 'a readiness failure does not restart the container');
    const unhealthy = await events('http', 'Unhealthy');
    assert.ok(unhealthy.some((m) => m === 'Readiness probe failed: HTTP probe failed with statuscode: 503'), unhealthy.join('\n'));
  });

  test('a container without probes is Ready as soon as it runs', async () => {
    await api.createNamespacedPod({ namespace: NS, body: pod('plain', { command: ['sleep', '300'] }) });
    const first = await runningProcess('plain');
    assert.equal(first.ready, 'True');
    assert.equal(first.containerReady, true);
  });

  test('a tcpSocket readiness probe passes once the port accepts connections', async () => {
    await api.createNamespacedPod({ namespace: NS, body: pod('tcp', {
      command: [process.execPath, join(dir, 'tcp.mjs')],
      env: [podIP, { name: 'PORT', value: '9000' }, { name: 'LISTEN_AFTER_MS', value: '1500' }],
      readinessProbe: { tcpSocket: { port: 9000 }, periodSeconds: 1 },
    }) });
    const first = await runningProcess('tcp');
    assert.equal(first.ready, 'False', 'Ready before the port was open');
    await readyPod('tcp');
  });

  test('exec probes run in the container\'s folder and environment; readiness waits for the startup probe', async () => {
    await api.createNamespacedPod({ namespace: NS, body: pod('exec', {
      command: ['sh', '-c', 'sleep 1; touch "$FLAG.started"; sleep 1; touch "$FLAG.ready"; exec sleep 300'],
      env: [{ name: 'FLAG', value: 'probe-flag' }],
      startupProbe: { exec: { command: ['sh', '-c', 'test -f "$FLAG.started"'] }, periodSeconds: 1, failureThreshold: 30 },
      readinessProbe: { exec: { command: ['sh', '-c', 'test -f "$FLAG.ready"'] }, periodSeconds: 1 },
    }) });
    const first = await runningProcess('exec');
    assert.equal(first.started, false, 'started before the startup probe passed');
    assert.equal(first.ready, 'False');
    await eventually(async () => (await seen('exec')).started === true, { what: 'exec started', timeoutMs: 15_000 });
    await readyPod('exec');
  });

  test('a failing liveness probe restarts the container and records why', async () => {
    await api.createNamespacedPod({ namespace: NS, body: pod('dead', {
      command: ['sleep', '300'],
      livenessProbe: { tcpSocket: { port: 9 }, periodSeconds: 1, failureThreshold: 2 },
    }) });
    await runningProcess('dead');
    await eventually(async () => (await seen('dead')).restarts >= 1, { what: 'dead restarted', timeoutMs: 20_000 });
    const killing = await events('dead', 'Killing');
    assert.ok(killing.includes('Container main failed liveness probe, will be restarted'), killing.join('\n'));
  });
});
