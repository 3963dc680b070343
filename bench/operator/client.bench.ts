// Client check (not a timed test): what one KubeClient request costs with its connection pool kept (one undici Agent
// per client, operator/kube/rest.ts) against a new pool per request (client-node's own behaviour: a new Agent, so a
// new TLS connection, on every applySecurityAuthentication). Alternating rounds on one small local cluster, so the
// machine's load hits both alike: sequential GETs (latency) and 256 ConfigMap creates with 32 in flight (throughput).
// Writes bench/results/operator-client.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { startCluster } from '../../test/cluster/index.js';
import { FIELD_MANAGER } from '../../operator/api/constants.js';
import { mapLimit } from '../../operator/kube/concurrency.js';
import { KubeClient, resourcePath } from '../../operator/kube/rest.js';

const ROUNDS = 3;
const GETS = 200;
const CREATES = 256;

/** A client whose pool is dropped before every request: each request then opens its own connection, as before. */
function freshPoolClient(c: KubeClient): KubeClient {
  const req = c.request.bind(c);
  c.request = ((...args: Parameters<KubeClient['request']>) => {
    (c as unknown as { dispatcher: unknown }).dispatcher = undefined;
    return req(...args);
  }) as KubeClient['request'];
  return c;
}

async function main(): Promise<void> {
  const c = await startCluster({ fleet: { spines: 1, leavesPerSpine: 1, nodesPerLeaf: 1, gpusPerNode: 8 }, runnerNodes: 0, timeoutMs: 300_000 });
  try {
    await c.kubectl(['create', 'namespace', 'bench']);
    const kc = c.kubeConfig();
    const clients = { pooled: new KubeClient(kc, FIELD_MANAGER), freshPerRequest: freshPoolClient(new KubeClient(kc, FIELD_MANAGER)) };
    const res: Record<string, { getMs: number[]; createsPerSecond: number[] }> = { pooled: { getMs: [], createsPerSecond: [] }, freshPerRequest: { getMs: [], createsPerSecond: [] } };
    for (let r = 0; r < ROUNDS; r++) {
      for (const [name, client] of Object.entries(clients)) {
        const t0 = performance.now();
        for (let i = 0; i < GETS; i++) await client.get(resourcePath('v1', 'Namespace', undefined, 'bench'));
        res[name]!.getMs.push((performance.now() - t0) / GETS);
        const t1 = performance.now();
        await mapLimit(Array.from({ length: CREATES }, (_, i) => i), 32, async (i) => {
          await client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${name.toLowerCase()}-${r}-${i}`, namespace: 'bench' }, data: { k: 'v' } });
        });
        res[name]!.createsPerSecond.push(CREATES / ((performance.now() - t1) / 1000));
      }
    }
    const mean = (xs: number[]) => Number((xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(2));
    const result = {
      name: 'operator-client',
      date: new Date().toISOString(),
      machine: { cpu: cpus()[0]?.model, cores: cpus().length, loadAverage: loadavg().map((x) => Number(x.toFixed(2))) },
      rounds: ROUNDS,
      sequentialGetMs: { pooled: mean(res.pooled!.getMs), freshPerRequest: mean(res.freshPerRequest!.getMs) },
      createsPerSecond32InFlight: { pooled: mean(res.pooled!.createsPerSecond), freshPerRequest: mean(res.freshPerRequest!.createsPerSecond) },
      raw: res,
    };
    mkdirSync(join(process.cwd(), 'bench', 'results'), { recursive: true });
    writeFileSync(join(process.cwd(), 'bench', 'results', 'operator-client.json'), JSON.stringify(result, null, 2));
    console.log(JSON.stringify(result, null, 2));
  } finally {
    await c.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
