// Kueue admission latency (not a timed test): one local cluster with the real Kueue (test/cluster/kueue.ts) and a
// KWOK fleet; a 16-pod (128-GPU) MoETrainingJob from create to Workload admitted to all pods bound, through a
// LocalQueue whose ClusterQueue has room (so the figure is Kueue's admission path, not a wait for quota), against the
// same job without a queue label (the operator alone), in alternating rounds of one run. CPU: the Kueue process
// (/proc/<pid>/stat) and this process (operator in-process) per round.
// Writes bench/results/operator-kueue.json. Env: MOE_BENCH_SMALL=1 for fewer rounds.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { startCluster } from '../../test/cluster/index.js';
import { startKueue } from '../../test/cluster/kueue.js';
import { DEFAULT_TOPOLOGY, installCrds, startOperator } from '../../test/integration/operator/harness.js';
import { FIELD_MANAGER } from '../../operator/api/constants.js';
import { KubeClient, registerKinds, resourcePath } from '../../operator/kube/rest.js';
import { podGroupName } from '../../operator/controllers/mtj/kueue.js';
import { writeAndPrintResult } from '../result-file.js';

registerKinds({ Workload: 'workloads' });
const small = process.env.MOE_BENCH_SMALL === '1';
const ROUNDS = small ? 2 : 5;
const fleet = { spines: 1, leavesPerSpine: 4, nodesPerLeaf: 8, gpusPerNode: 8 };
const PODS = 16;
const NS = 'bench';

const QUEUES = `apiVersion: kueue.x-k8s.io/v1beta2
kind: ResourceFlavor
metadata: {name: gpu}
---
apiVersion: kueue.x-k8s.io/v1beta2
kind: ClusterQueue
metadata: {name: all}
spec:
  namespaceSelector: {}
  resourceGroups:
  - coveredResources: [nvidia.com/gpu, rdma/ib]
    flavors:
    - name: gpu
      resources:
      - {name: nvidia.com/gpu, nominalQuota: 4096}
      - {name: rdma/ib, nominalQuota: 4096}
---
apiVersion: kueue.x-k8s.io/v1beta2
kind: LocalQueue
metadata: {name: q, namespace: ${NS}}
spec: {clusterQueue: all}
`;

const job = (name: string, queued: boolean) => ({
  apiVersion: 'moe.io/v1alpha1',
  kind: 'MoETrainingJob',
  metadata: { name, namespace: NS, ...(queued ? { labels: { 'kueue.x-k8s.io/queue-name': 'q' } } : {}) },
  spec: {
    model: { preset: 'deepseek-v3-tiny' },
    // PP 2 × EP 8 × DP 8 = 128 ranks = 16 pods of 8 GPUs.
    parallelism: { pipeline: { stages: 2, schedule: 'DualPipe', microBatches: 4 }, expert: 8, data: 8, gpusPerPod: 8 },
    training: { globalBatchSize: 256 },
    template: { spec: { containers: [{ name: 'trainer', image: 'moe-runtime:bench' }] } },
  },
});

/** utime + stime of a process in ms (Linux /proc). */
function procCpuMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return ((Number(rest[11]) + Number(rest[12])) * 1000) / 100; // fields 14, 15; USER_HZ = 100
}
const selfCpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

interface Round { system: 'kueue' | 'operator-alone'; admittedMs?: number; allBoundMs: number; kueueCpuMs: number; benchProcessCpuMs: number }

async function oneRound(client: KubeClient, name: string, queued: boolean, kueuePid: number): Promise<Round> {
  const k0 = procCpuMs(kueuePid);
  const c0 = selfCpuMs();
  const t0 = performance.now();
  const created = await client.create<any>(job(name, queued) as any);
  const wl = resourcePath('kueue.x-k8s.io/v1beta2', 'Workload', NS, podGroupName(created));
  let admittedMs: number | undefined;
  for (;;) {
    if (queued && admittedMs === undefined) {
      const w = await client.get<any>(wl).catch(() => undefined);
      if (w?.status?.conditions?.some((c: any) => c.type === 'Admitted' && c.status === 'True')) admittedMs = performance.now() - t0;
    }
    const j = await client.get<any>(resourcePath('moe.io/v1alpha1', 'MoETrainingJob', NS, name));
    if (['Invalid', 'Failed', 'Unschedulable'].includes(j.status?.phase)) throw new Error(`${name} is ${j.status.phase}: ${JSON.stringify(j.status.conditions)}`);
    const pods = await client.list<any>(resourcePath('v1', 'Pod', NS), { labelSelector: `moe.io/job-name=${name}` });
    const bound = pods.items.filter((p: any) => p.spec.nodeName).length;
    if (bound === PODS && (!queued || admittedMs !== undefined)) break;
    if (performance.now() - t0 > 300_000) throw new Error(`${name}: ${bound}/${PODS} pods bound after 300 s (admitted: ${admittedMs !== undefined})`);
    await sleep(20);
  }
  const allBoundMs = performance.now() - t0;
  const r: Round = { system: queued ? 'kueue' : 'operator-alone', allBoundMs: Math.round(allBoundMs), kueueCpuMs: Math.round(procCpuMs(kueuePid) - k0), benchProcessCpuMs: Math.round(selfCpuMs() - c0) };
  if (admittedMs !== undefined) r.admittedMs = Math.round(admittedMs);
  // Gone before the next round (the finalizer waits for the pods), so rounds do not share nodes or quota.
  await client.delete(resourcePath('moe.io/v1alpha1', 'MoETrainingJob', NS, name));
  for (let i = 0; ; i++) {
    const left = await client.list<any>(resourcePath('v1', 'Pod', NS), { labelSelector: `moe.io/job-name=${name}` });
    const j = await client.get<any>(resourcePath('moe.io/v1alpha1', 'MoETrainingJob', NS, name)).catch(() => undefined);
    if (!left.items.length && !j) break;
    if (i > 3000) throw new Error(`${name} not gone after deletion`);
    await sleep(50);
  }
  return r;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(): Promise<void> {
  const c = await startCluster({ fleet, runnerNodes: 0, timeoutMs: 300_000 });
  try {
    const tk = performance.now();
    const kueue = await startKueue(c);
    const kueueStartMs = Math.round(performance.now() - tk);
    await installCrds(c);
    await c.kubectl(['apply', '-f', '-'], DEFAULT_TOPOLOGY);
    await c.kubectl(['create', 'namespace', NS]);
    await c.kubectl(['apply', '-f', '-'], QUEUES);
    const client = new KubeClient(c.kubeConfig(), FIELD_MANAGER);
    const op = await startOperator(c.kubeConfig(), { workers: 8 });
    // One warm-up of each, not recorded (first plans, first webhook calls, informer caches).
    await oneRound(client, 'warm-k', true, kueue.component.pid);
    await oneRound(client, 'warm-o', false, kueue.component.pid);
    const rounds: Round[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      // Alternating, and which goes first alternates too.
      const order = i % 2 ? [false, true] : [true, false];
      for (const q of order) {
        const r = await oneRound(client, `${q ? 'k' : 'o'}-${i}`, q, kueue.component.pid);
        console.error(`[bench] ${JSON.stringify(r)}`);
        rounds.push(r);
      }
    }
    await op.stop();
    const k = rounds.filter((r) => r.system === 'kueue');
    const o = rounds.filter((r) => r.system === 'operator-alone');
    const result = {
      kueue: { version: kueue.version, startToWebhookReadyMs: kueueStartMs, integration: 'pod (plain-pod groups)' },
      fleet: { ...fleet, nodes: fleet.spines * fleet.leavesPerSpine * fleet.nodesPerLeaf },
      job: { pods: PODS, gpus: PODS * 8 },
      rounds: ROUNDS,
      medianMs: {
        kueue: { createToAdmitted: median(k.map((r) => r.admittedMs!)), createToAllBound: median(k.map((r) => r.allBoundMs)) },
        operatorAlone: { createToAllBound: median(o.map((r) => r.allBoundMs)) },
      },
      kueueOverheadMs: median(k.map((r) => r.allBoundMs)) - median(o.map((r) => r.allBoundMs)),
      ratioAllBound: Number((median(k.map((r) => r.allBoundMs)) / median(o.map((r) => r.allBoundMs))).toFixed(2)),
      medianCpuMsPerJob: {
        kueueProcess: median(k.map((r) => r.kueueCpuMs)),
        benchProcessWithKueue: median(k.map((r) => r.benchProcessCpuMs)),
        benchProcessAlone: median(o.map((r) => r.benchProcessCpuMs)),
      },
      perRound: rounds,
    };
    writeAndPrintResult('operator-kueue', result);
  } finally {
    await c.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
