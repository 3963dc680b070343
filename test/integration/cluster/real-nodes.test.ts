// Real nodes of the local cluster: two kubelets with containerd and runc run a pod from the project's runtime image
// under Pod Security `restricted`, with what the kubelet provides (probes, resource limits, a ConfigMap volume, a
// projected service-account token, cluster DNS and the `kubernetes` Service through kube-proxy, logs and exec, its own
// hostname in /etc/hosts), and leave nothing behind when the cluster stops.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startCluster, type LocalCluster } from '../../cluster/index.js';
import { image } from '../../cluster/images.js';
import { networkNames } from '../../cluster/node/network.js';
import { eventually } from '../../util/poll.js';

const NS = 'real';
let c: LocalCluster | undefined;
let stateDir = '';
let clusterName = '';

// Runs inside the container: loads both native addons, reads the mounted ConfigMap, and calls the API server through
// `kubernetes.default.svc` (CoreDNS + kube-proxy) with the projected token; prints one JSON line, then marks itself
// ready for the exec probe and stays up.
const SCRIPT = `
const fs = require('node:fs'); const https = require('node:https');
const sa = '/var/run/secrets/kubernetes.io/serviceaccount';
const out = { uid: process.getuid(), greeting: fs.readFileSync('/data/greeting', 'utf8') };
for (const [k, p] of Object.entries({ kernels: process.env.MOE_ADDON_KERNELS, collectives: process.env.MOE_ADDON_COLLECTIVES })) {
  try { require(p); out[k] = 'loaded'; } catch (e) { out[k] = String(e.message); }
}
https.get('https://kubernetes.default.svc/api/v1/namespaces/${NS}/configmaps/data', {
  ca: fs.readFileSync(sa + '/ca.crt'), headers: { authorization: 'Bearer ' + fs.readFileSync(sa + '/token', 'utf8') },
}, (res) => { let b = ''; res.on('data', (d) => b += d); res.on('end', () => {
  out.api = res.statusCode; try { out.apiGreeting = JSON.parse(b).data.greeting; } catch {}
  console.log(JSON.stringify(out)); fs.writeFileSync('/tmp/ready', 'yes'); setInterval(() => {}, 1 << 30);
}); }).on('error', (e) => { out.api = String(e.message); console.log(JSON.stringify(out)); setInterval(() => {}, 1 << 30); });
`;

function podYaml(img: string, node: string): string {
  return `apiVersion: v1
kind: Pod
metadata: {name: probe, namespace: ${NS}}
spec:
  nodeName: ${node}
  hostname: gang-0
  securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: main
    image: ${img}
    imagePullPolicy: Never
    command: [node, -e, ${JSON.stringify(SCRIPT)}]
    env:
    - {name: MOE_ADDON_KERNELS, value: /app/runtime/native/build/Release/moe_native.node}
    - {name: MOE_ADDON_COLLECTIVES, value: /app/runtime/collectives/build/Release/moe_collectives.node}
    readinessProbe: {exec: {command: [cat, /tmp/ready]}, periodSeconds: 1}
    resources: {requests: {cpu: 50m, memory: 64Mi}, limits: {memory: 256Mi}}
    securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
    volumeMounts: [{name: data, mountPath: /data}, {name: tmp, mountPath: /tmp}]
  volumes:
  - {name: data, configMap: {name: data}}
  - {name: tmp, emptyDir: {}}
`;
}

describe('real nodes (kubelet + containerd + runc)', () => {
  before(async () => {
    const rt = image('runtime');
    c = await startCluster({ fleet: { spines: 0, leavesPerSpine: 0, nodesPerLeaf: 0, gpusPerNode: 8 }, realNodes: 2, images: [rt.archive], timeoutMs: 180_000 });
    stateDir = c.stateDir;
    clusterName = c.name;
    await c.kubectl(['create', 'namespace', NS]);
    await c.kubectl(['label', 'namespace', NS, 'pod-security.kubernetes.io/enforce=restricted']);
    await c.kubectl(['apply', '-f', '-'], `apiVersion: v1
kind: ConfigMap
metadata: {name: data, namespace: ${NS}}
data: {greeting: hello}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: read-data, namespace: ${NS}}
rules: [{apiGroups: [""], resources: [configmaps], resourceNames: [data], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: read-data, namespace: ${NS}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: read-data}
subjects: [{kind: ServiceAccount, name: default, namespace: ${NS}}]
`);
  });

  after(async () => { await c?.stop(); });

  test('the nodes are kubelets of the control plane version on containerd', async () => {
    const nodes = JSON.parse(await c!.kubectl(['get', 'nodes', '-o', 'json'])).items as any[];
    assert.deepEqual(nodes.map((n) => n.metadata.name).sort(), ['node-0', 'node-1']);
    for (const n of nodes) {
      assert.equal(n.status.nodeInfo.kubeletVersion, 'v1.37.2');
      assert.match(n.status.nodeInfo.containerRuntimeVersion, /^containerd:\/\/v?2\./);
      assert.equal(n.status.allocatable['nvidia.com/gpu'], '8', 'the pretend GPUs are advertised');
    }
  });

  test('a pod from the runtime image runs under restricted with probes, limits, a ConfigMap, a token, DNS and the kubernetes Service', async () => {
    await c!.kubectl(['apply', '-f', '-'], podYaml(image('runtime').name, 'node-1'));
    await eventually(async () => (await c!.kubectl(['-n', NS, 'get', 'pod', 'probe', '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'])) === 'True' || false,
      { timeoutMs: 120_000, intervalMs: 1000, what: 'the probe pod Ready' });
    const line = (await c!.kubectl(['-n', NS, 'logs', 'probe'])).trim().split('\n').pop()!;
    const out = JSON.parse(line);
    assert.deepEqual(out, { uid: 65532, greeting: 'hello', kernels: 'loaded', collectives: 'loaded', api: 200, apiGreeting: 'hello' });
    assert.equal((await c!.kubectl(['-n', NS, 'exec', 'probe', '--', 'id', '-u'])).trim(), '65532');
    // The memory limit reached the container's cgroup (v1 layout on this machine, v2 elsewhere).
    const limit = (await c!.kubectl(['-n', NS, 'exec', 'probe', '--', 'sh', '-c',
      'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max'])).trim();
    assert.equal(limit, String(256 * 1024 * 1024));
    // The root file system is read-only.
    await assert.rejects(c!.kubectl(['-n', NS, 'exec', 'probe', '--', 'touch', '/x']), /Read-only file system/);
  });

  test('a pod resolves its own hostname to its pod IP without a Service (the MASTER_ADDR of a one-pod gang)', async () => {
    // A one-pod MoETrainingJob gets no headless Service (mtj/desired.ts needsService): its ranks meet at the pod's
    // hostname, which the kubelet writes into the pod's /etc/hosts. Resolve it as a runtime would, listen there, dial it.
    const script = `const dns = require('node:dns'); const net = require('node:net'); const os = require('node:os');
dns.lookup(os.hostname(), { family: 4 }, (e, addr) => {
  if (e) { console.log(JSON.stringify({ err: e.message })); process.exit(1); }
  const s = net.createServer((k) => k.end('hi')).listen(29500, addr, () => net.connect(29500, addr).on('data', (d) => {
    console.log(JSON.stringify({ host: os.hostname(), addr, got: String(d) })); process.exit(0);
  }));
});`;
    const out = JSON.parse((await c!.kubectl(['-n', NS, 'exec', 'probe', '--', 'node', '-e', script])).trim());
    const podIP = await c!.kubectl(['-n', NS, 'get', 'pod', 'probe', '-o', 'jsonpath={.status.podIP}']);
    assert.deepEqual(out, { host: 'gang-0', addr: podIP, got: 'hi' });
  });

  test('the restricted namespace refuses a privileged pod', async () => {
    await assert.rejects(c!.kubectl(['apply', '-f', '-'], `apiVersion: v1
kind: Pod
metadata: {name: privileged, namespace: ${NS}}
spec:
  containers: [{name: main, image: ${image('runtime').name}, securityContext: {privileged: true}}]
`), /violates PodSecurity "restricted:latest"/);
  });

  test('stopping the cluster leaves no process, mount, cgroup or network namespace behind', async () => {
    const sockets = readdirSync(join(stateDir, 'nodes')).map((n) => join(stateDir, 'nodes', n, 'containerd', 'containerd.sock'));
    await c!.stop();
    c = undefined;
    const { netns } = networkNames(clusterName);
    assert.equal(existsSync(`/var/run/netns/${netns}`), false, 'network namespace removed');
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(stateDir));
    assert.deepEqual(mounts, [], 'no mounts left under the state folder');
    for (const h of readdirSync('/sys/fs/cgroup')) {
      const left = existsSync(join('/sys/fs/cgroup', h)) ? readdirSync(join('/sys/fs/cgroup', h)).filter((d) => d.startsWith(`moe-${clusterName}-`)) : [];
      assert.deepEqual(left, [], `no cgroup root left in ${h}`);
    }
    const procs = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).filter((d) => {
      try { const argv = readFileSync(`/proc/${d}/cmdline`, 'utf8'); return argv.includes(stateDir) || sockets.some((s) => argv.includes(s)); } catch { return false; }
    });
    assert.deepEqual(procs, [], 'no process of the cluster left');
    assert.equal(existsSync(stateDir), false);
  });
});
