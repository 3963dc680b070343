// Client check (not a timed test): what one KubeClient request costs as it is (operator/kube/rest.ts: one undici Agent
// per client, auth headers reused for KubeClient.authTtlMs) against client-node's per-request auth on the kept pool,
// and against client-node's own behaviour (a new Agent, so a new TLS connection, on every applySecurityAuthentication).
// Then the two ways to take a scheduling gate off a pod (strategic-merge delete directive as the operator sends it,
// JSON patch test+remove).
// Alternating rounds on one small local cluster, so the machine's load hits all alike: sequential GETs (latency),
// 256 ConfigMap creates with 32 in flight (throughput), 128 gate removals with 32 in flight.
// Writes bench/results/operator-client.json.
import { startCluster } from '../../test/cluster/index.js';
import { FIELD_MANAGER, SCHEDULING_GATE } from '../../operator/api/constants.js';
import { mapLimit } from '../../operator/kube/concurrency.js';
import { KubeClient, resourcePath } from '../../operator/kube/rest.js';
import { GATE_PATCH } from '../../operator/controllers/gates.js';
import { writeAndPrintResult } from '../result-file.js';

const ROUNDS = 3;
const GETS = 200;
const CREATES = 256;
const GATED = 128;

type Internals = { dispatcher: unknown; authCache: unknown };

/** A client that runs client-node's applySecurityAuthentication on every request (the pool is kept). */
function authPerRequestClient(c: KubeClient): KubeClient {
  const req = c.request.bind(c);
  c.request = ((...args: Parameters<KubeClient['request']>) => {
    (c as unknown as Internals).authCache = undefined;
    return req(...args);
  }) as KubeClient['request'];
  return c;
}

/** A client whose pool is dropped before every request: each request then opens its own connection (client-node). */
function freshPoolClient(c: KubeClient): KubeClient {
  const req = c.request.bind(c);
  c.request = ((...args: Parameters<KubeClient['request']>) => {
    (c as unknown as Internals).dispatcher = undefined;
    (c as unknown as Internals).authCache = undefined;
    return req(...args);
  }) as KubeClient['request'];
  return c;
}

async function main(): Promise<void> {
  const c = await startCluster({ fleet: { spines: 1, leavesPerSpine: 1, nodesPerLeaf: 1, gpusPerNode: 8 }, runnerNodes: 0, timeoutMs: 300_000 });
  try {
    await c.kubectl(['create', 'namespace', 'bench']);
    const kc = c.kubeConfig();
    const clients = {
      asIs: new KubeClient(kc, FIELD_MANAGER),
      authPerRequest: authPerRequestClient(new KubeClient(kc, FIELD_MANAGER)),
      freshPerRequest: freshPoolClient(new KubeClient(kc, FIELD_MANAGER)),
    };
    const res: Record<string, { getMs: number[]; createsPerSecond: number[]; cpuMsPerRequest: number[] }> = {};
    for (const name of Object.keys(clients)) res[name] = { getMs: [], createsPerSecond: [], cpuMsPerRequest: [] };
    const gates: Record<'strategicMerge' | 'jsonPatch', number[]> = { strategicMerge: [], jsonPatch: [] };
    const gateClient = clients.asIs;
    for (let r = 0; r < ROUNDS; r++) {
      for (const [name, client] of Object.entries(clients)) {
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        for (let i = 0; i < GETS; i++) await client.get(resourcePath('v1', 'Namespace', undefined, 'bench'));
        res[name]!.getMs.push((performance.now() - t0) / GETS);
        const t1 = performance.now();
        await mapLimit(Array.from({ length: CREATES }, (_, i) => i), 32, async (i) => {
          await client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${name.toLowerCase()}-${r}-${i}`, namespace: 'bench' }, data: { k: 'v' } });
        });
        res[name]!.createsPerSecond.push(CREATES / ((performance.now() - t1) / 1000));
        const cpu = process.cpuUsage(cpu0);
        res[name]!.cpuMsPerRequest.push((cpu.user + cpu.system) / 1000 / (GETS + CREATES));
      }
      // Gate removal: gated pods on a node that does not exist (they stay Pending once released), both ways in turn.
      for (const way of ['strategicMerge', 'jsonPatch'] as const) {
        const names = Array.from({ length: GATED }, (_, i) => `${way.toLowerCase()}-${r}-${i}`);
        await mapLimit(names, 32, async (n) => {
          await gateClient.create({
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: { name: n, namespace: 'bench' },
            spec: { schedulingGates: [{ name: SCHEDULING_GATE }], nodeSelector: { 'kubernetes.io/hostname': 'nowhere' }, containers: [{ name: 'c', image: 'x' }] },
          } as never);
        });
        const t = performance.now();
        await mapLimit(names, 32, async (n) => {
          const path = resourcePath('v1', 'Pod', 'bench', n);
          // The JSON patch knows the gate's index from the pod as created (index 0): test its name there, remove it.
          const p =
            way === 'jsonPatch'
              ? { body: [{ op: 'test', path: '/spec/schedulingGates/0/name', value: SCHEDULING_GATE }, { op: 'remove', path: '/spec/schedulingGates/0' }], contentType: 'application/json-patch+json' }
              : { body: GATE_PATCH, contentType: 'application/strategic-merge-patch+json' };
          await gateClient.request('PATCH', path, { body: p.body, contentType: p.contentType, query: { fieldManager: FIELD_MANAGER } });
        });
        gates[way].push(GATED / ((performance.now() - t) / 1000));
      }
    }
    const mean = (xs: number[]) => Number((xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(2));
    const result = {
      rounds: ROUNDS,
      sequentialGetMs: Object.fromEntries(Object.entries(res).map(([k, v]) => [k, mean(v.getMs)])),
      createsPerSecond32InFlight: Object.fromEntries(Object.entries(res).map(([k, v]) => [k, mean(v.createsPerSecond)])),
      clientCpuMsPerRequest: Object.fromEntries(Object.entries(res).map(([k, v]) => [k, mean(v.cpuMsPerRequest)])),
      gateRemovalsPerSecond32InFlight: { strategicMerge: mean(gates.strategicMerge), jsonPatch: mean(gates.jsonPatch) },
      gates,
      raw: res,
    };
    writeAndPrintResult('operator-client', result);
  } finally {
    await c.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
