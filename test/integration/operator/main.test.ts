// operator/main.ts as real processes: two replicas with Lease election → exactly one leader reconciles; when it gets
// SIGTERM it releases the Lease and the standby takes over within the lease duration; /healthz, /readyz, /metrics.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startCluster, type LocalCluster } from '../../cluster/index.js';
import { freePorts } from '../../cluster/ports.js';
import { eventually } from '../../util/poll.js';
import { DEFAULT_TOPOLOGY, ROOT, applyYaml, chartRbacKubeConfig, installCrds, json, tinyJob } from './harness.js';

let c: LocalCluster;
let kubeconfig: string;
const procs: ChildProcess[] = [];

function startReplica(port: number, name: string): ChildProcess {
  const p = spawn(process.execPath, [join(ROOT, 'dist', 'operator', 'main.js')], {
    env: { ...process.env, KUBECONFIG: kubeconfig, METRICS_ADDR: `127.0.0.1:${port}`, LEASE_NAMESPACE: 'moe-system', HOSTNAME: name, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  procs.push(p);
  return p;
}

const get = async (port: number, path: string) => {
  const r = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: r.status, text: await r.text() };
};
const isLeader = async (port: number) => /^moe_leader 1$/m.test((await get(port, '/metrics')).text);

before(async () => {
  c = await startCluster({ fleet: { spines: 1, leavesPerSpine: 1, nodesPerLeaf: 2, gpusPerNode: 8 }, runnerNodes: 0 });
  await installCrds(c);
  await applyYaml(c, DEFAULT_TOPOLOGY);
  await c.kubectl(['create', 'namespace', 'team']);
  // The replicas run as the chart's ServiceAccount with the chart's RBAC (Lease Role in moe-system).
  kubeconfig = join(c.stateDir, 'operator.kubeconfig');
  writeFileSync(kubeconfig, (await chartRbacKubeConfig(c, 'moe-system')).exportConfig());
});

after(async () => {
  for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  await c?.stop();
});

test('two operator replicas: one leader reconciles, the standby takes over after SIGTERM', async () => {
  const [p1, p2] = await freePorts(2);
  const r1 = startReplica(p1!, 'op-1');
  startReplica(p2!, 'op-2');
  for (const port of [p1!, p2!]) {
    await eventually(async () => (await get(port, '/readyz')).status === 200 || false, { timeoutMs: 30_000, what: `replica on ${port} ready` });
    assert.equal((await get(port, '/healthz')).status, 200);
  }
  await eventually(async () => (await isLeader(p1!)) !== (await isLeader(p2!)) || false, { timeoutMs: 30_000, what: 'exactly one leader' });
  assert.notEqual(await isLeader(p1!), await isLeader(p2!));

  await applyYaml(c, tinyJob('m', 'team'));
  await eventually(async () => (await json(c, ['-n', 'team', 'get', 'mtj', 'm'])).status?.phase === 'Running' || false, { timeoutMs: 60_000, what: 'job Running under the leader' });
  assert.match((await get((await isLeader(p1!)) ? p1! : p2!, '/metrics')).text, /moe_reconcile_total\{kind="MoETrainingJob",outcome="success"\} [1-9]/);

  const [leader, standbyPort] = (await isLeader(p1!)) ? [r1, p2!] : [procs[1]!, p1!];
  const t0 = Date.now();
  leader.kill('SIGTERM');
  await once(leader, 'exit');
  await eventually(() => isLeader(standbyPort), { timeoutMs: 20_000, what: 'standby becomes leader' });
  assert.ok(Date.now() - t0 < 15_000, `took over in ${Date.now() - t0} ms`);
  // The new leader adopts the job: suspend it and watch it act.
  await c.kubectl(['-n', 'team', 'patch', 'mtj', 'm', '--type=merge', '-p', '{"spec":{"suspend":true}}']);
  await eventually(async () => (await json(c, ['-n', 'team', 'get', 'mtj', 'm'])).status?.phase === 'Suspended' || false, { timeoutMs: 30_000, what: 'new leader reconciles' });
});
