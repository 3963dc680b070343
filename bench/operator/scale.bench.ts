// Scale check (not a timed test): on a simulated fleet of 256 nodes × 8 GPUs,
//  1. a 2048-GPU MoETrainingJob (256 pods) from create to all pods bound, through the operator (plan, gated create,
//     gang release, scheduler), against the peer: the same 256 pods created by a bare loop, no gates. The peer's pods
//     are the operator's own from the round before (same spec, env, volumes, labels; without the gate, the owner and
//     rank 0's ServiceAccount, which went with the job); a second peer creates minimal pods (node selector, resources:
//     the comparison before this change, `minimalPods`). ROUNDS rounds, operator and peer in turn (operator first in
//     even rounds), on one cluster;
//  2. 100 small jobs created at once, each to phase Running: latency p50/p95/max, reconciles/s, operator memory.
// Timing spans (operator/kube/spans.ts) give the breakdown of each run: planning, pod creation, gate removal, queue wait, informer
// lag (create sent → pod seen by the operator's watch), status writes and the client's own cost per request.
// CPU seconds per cluster process in each run (cluster-cpu.ts) say where the two cores went.
// Every measured run starts once the cluster is back to its idle CPU use (cluster-cpu.ts waitQuiet), so none pays for
// the deletions of the one before.
// Writes bench/results/operator-scale.json. Env: MOE_BENCH_SMALL=1 shrinks everything for a quick run;
// MOE_BENCH_FLEET=16k runs part 1 only, on 2048 nodes with a 16,384-GPU job of 2048 pods
// (→ bench/results/operator-scale-16k.json); MOE_BENCH_ROUNDS (default 3; 0 runs part 2 only); MOE_BENCH_SMALL_JOBS
// (default 100); MOE_BENCH_WORKERS (reconcile workers, default 8 as the chart's `workers`).
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { startCluster, type LocalCluster } from '../../test/cluster/index.js';
import { installCrds, startOperator } from '../../test/integration/operator/harness.js';
import { mtjMetrics } from '../../operator/controllers/mtj/metrics.js';
import { FIELD_MANAGER } from '../../operator/api/constants.js';
import { KubeClient, resourcePath } from '../../operator/kube/rest.js';
import { spans, type SpanStats } from '../../operator/kube/spans.js';
import { makeInformer, type Informer } from '../../operator/kube/informer.js';
import type { V1Pod } from '@kubernetes/client-node';
import { podCache, podsWith, waitPods, type CachedPod } from './pod-cache.js';
import { clusterCores, clusterCpu, cpuSince, waitQuiet, type Quiet } from './cluster-cpu.js';
import { writeAndPrintResult } from '../result-file.js';

const small = process.env.MOE_BENCH_SMALL === '1';
const huge = process.env.MOE_BENCH_FLEET === '16k';
const ROUNDS = Number(process.env.MOE_BENCH_ROUNDS ?? 3);
const fleet = small
  ? { spines: 1, leavesPerSpine: 2, nodesPerLeaf: 8, gpusPerNode: 8 }
  : huge
    ? { spines: 4, leavesPerSpine: 16, nodesPerLeaf: 32, gpusPerNode: 8 }
    : { spines: 2, leavesPerSpine: 8, nodesPerLeaf: 16, gpusPerNode: 8 };
const nodes = fleet.spines * fleet.leavesPerSpine * fleet.nodesPerLeaf;
// world = PP·EP·DP
const BIG = small ? { stages: 4, expert: 16, data: 2 } : huge ? { stages: 16, expert: 64, data: 16 } : { stages: 16, expert: 64, data: 2 };
const SMALL_JOBS = Number(process.env.MOE_BENCH_SMALL_JOBS ?? (small ? 10 : 100));
/** The operator's reconcile workers (MOE_BENCH_WORKERS), by default what the chart runs (`workers: 8`): 16 made the
 *  100-job p95 worse, 6.4 s against 4.8-6.0 s in 3 alternating pairs, with 1.2-2 s more API-server CPU. */
const WORKERS = Number(process.env.MOE_BENCH_WORKERS ?? 8);

const bigJob = (name: string) => ({
  apiVersion: 'moe.io/v1alpha1',
  kind: 'MoETrainingJob',
  metadata: { name, namespace: 'bench' },
  spec: {
    model: { preset: 'deepseek-v3-671b' },
    parallelism: { pipeline: { stages: BIG.stages, schedule: 'DualPipe', microBatches: 2 * BIG.stages }, expert: BIG.expert, data: BIG.data, gpusPerPod: 8 },
    training: { globalBatchSize: BIG.expert * BIG.data * 2 * BIG.stages * 4, sequenceLength: 4096 },
    template: { spec: { containers: [{ name: 'trainer', image: 'moe-runtime:bench' }] } },
  },
});

const smallJob = (name: string) => ({
  apiVersion: 'moe.io/v1alpha1',
  kind: 'MoETrainingJob',
  metadata: { name, namespace: 'bench' },
  spec: {
    model: { preset: 'deepseek-v3-tiny' },
    parallelism: { pipeline: { stages: 1, schedule: '1F1B', microBatches: 1 }, expert: 8, gpusPerPod: 8 },
    topologyRef: { name: 'h800-ib' },
    template: { spec: { containers: [{ name: 'trainer', image: 'moe-runtime:bench' }] } },
  },
});

let podView: Informer<CachedPod> | undefined;

/** When the bench's pod watch first showed each pod, and showed it bound (performance.now(); cleared per run). */
const podSeen = new Map<string, { seen: number; bound?: number }>();
function notePod(p: CachedPod): void {
  const t = performance.now();
  const e = podSeen.get(p.metadata.name) ?? { seen: t };
  if (p.spec?.nodeName && e.bound === undefined) e.bound = t;
  podSeen.set(p.metadata.name, e);
}

/** The run's pods as the bench's watch saw them, from `t0`: first and last pod seen, last bound, and per pod the time
 *  from seen to bound (the scheduler's and binding's share, apart from creation). */
function podTimeline(t0: number, prefix: (name: string) => boolean) {
  const es = [...podSeen].filter(([n]) => prefix(n)).map(([, e]) => e);
  if (!es.length) return null;
  const bindLag = es.filter((e) => e.bound !== undefined).map((e) => e.bound! - e.seen);
  const r = (x: number) => Math.round(x);
  return {
    firstSeenMs: r(Math.min(...es.map((e) => e.seen)) - t0),
    lastSeenMs: r(Math.max(...es.map((e) => e.seen)) - t0),
    lastBoundMs: r(Math.max(...es.map((e) => e.bound ?? 0)) - t0),
    seenToBoundMs: { p50: r(pct(bindLag, 50)), p95: r(pct(bindLag, 95)), max: r(Math.max(...bindLag)) },
  };
}

/** Waits until `want` pods with label `selector` are bound (the pod cache); with `job`, fails on a job that cannot start. */
async function waitBound(client: KubeClient, selector: string, want: number, timeoutMs: number, job?: string): Promise<number> {
  const t0 = performance.now();
  const check = job
    ? async () => {
        const j = await client.get<any>(resourcePath('moe.io/v1alpha1', 'MoETrainingJob', 'bench', job));
        const ph = j.status?.phase;
        if ((ph === 'Unschedulable' && performance.now() - t0 > 60_000) || ph === 'Invalid' || ph === 'Failed') throw new Error(`job ${job} is ${ph}: ${JSON.stringify(j.status.conditions)}`);
      }
    : undefined;
  return waitPods(podView!, selector, (ps) => ps.filter((p) => p.spec?.nodeName).length >= want, timeoutMs, `${want} pods bound`, check);
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

async function main(): Promise<void> {
  // 2048 KWOK nodes took more than 5 min to become Ready at load 12-20 (1524 of 2048 by then).
  const c = await startCluster({ fleet, runnerNodes: 0, timeoutMs: huge ? 900_000 : 300_000 });
  try {
    await installCrds(c);
    await c.kubectl(['apply', '-f', join(process.cwd(), 'examples', 'cluster-topology.yaml')]);
    await c.kubectl(['create', 'namespace', 'bench']);
    const kc = c.kubeConfig();
    const client = new KubeClient(kc, FIELD_MANAGER);
    client.spanName = 'bench'; // the bench's own polling, apart from the operator's requests
    podView = await podCache(kc, client, 'bench');
    podView.onAny(notePod);
    spans.enable();
    const heap0 = process.memoryUsage();
    const op = await startOperator(kc, { workers: WORKERS });
    await client.request('PATCH', resourcePath('moe.io/v1alpha1', 'ClusterTopology', undefined, 'h800-ib'), {
      body: { spec: { rails: 0 } },
      contentType: 'application/merge-patch+json',
    });
    const world = BIG.stages * BIG.expert * BIG.data;
    const pods = world / 8;
    // The cluster's idle CPU before any job (the least of two windows): waitQuiet's reference.
    const idle = [await clusterCores(c.stateDir, 3000), await clusterCores(c.stateDir, 3000)].sort((a, b) => a.total - b.total)[0]!;
    console.error(`[bench] ${nodes} nodes ready, idle at ${idle.total} cores ${JSON.stringify(idle.cores)}; big job: ${pods} pods; ${ROUNDS} rounds`);
    // Each run starts on a quiet cluster (waitQuiet): the wait and the last window's CPU use per process are in `settled`.
    const rounds: Array<{ operator: BigRun; bare: BigRun; ratio: number; minimalPods: BigRun; ratioToMinimalPods: number; loadAverage: number[]; settled: Record<string, Quiet> }> = [];
    let planned: CachedPod[] | undefined;
    for (let r = 0; r < ROUNDS; r++) {
      // The bare loop needs the nodes the plan chose: the operator goes first in round 0, then the two take turns.
      const order = r % 2 === 0 ? (['operator', 'bare'] as const) : (['bare', 'operator'] as const);
      const got: Partial<Record<'operator' | 'bare', BigRun>> = {};
      const settled: Record<string, Quiet> = {};
      for (const who of order) {
        settled[who] = await waitQuiet(c.stateDir, idle.total);
        if (who === 'operator') {
          const run = await bigThroughOperator(c, client, op, `big-${r}`, pods);
          planned = run.planned;
          got.operator = run.result;
        } else got.bare = await bigBareLoop(c, client, planned!.map((p) => peerPod(p)), `bare-${r}`);
      }
      settled.minimalPods = await waitQuiet(c.stateDir, idle.total);
      const minimal = await bigBareLoop(c, client, planned!.map((p) => minimalPod(p)), `minimal-${r}`);
      const ratio = Number((got.operator!.createToAllBoundMs / got.bare!.createToAllBoundMs).toFixed(2));
      const ratioToMinimalPods = Number((got.operator!.createToAllBoundMs / minimal.createToAllBoundMs).toFixed(2));
      rounds.push({ operator: got.operator!, bare: got.bare!, ratio, minimalPods: minimal, ratioToMinimalPods, loadAverage: loadavg().map((x) => Number(x.toFixed(2))), settled });
      console.error(`[bench] round ${r}: operator ${got.operator!.createToAllBoundMs} ms, bare loop ${got.bare!.createToAllBoundMs} ms (${ratio}×), minimal pods ${minimal.createToAllBoundMs} ms (${ratioToMinimalPods}×)`);
    }
    const ratios = rounds.map((x) => x.ratio);
    const ratiosMinimal = rounds.map((x) => x.ratioToMinimalPods);
    const bigJob = {
      worldSize: world,
      pods,
      rounds: rounds.length,
      overheadVsPeer: { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) },
      operatorMs: { median: median(rounds.map((x) => x.operator.createToAllBoundMs)) },
      bareLoopMs: { median: median(rounds.map((x) => x.bare.createToAllBoundMs)) },
      minimalPods: { overheadVsPeer: { median: median(ratiosMinimal), min: Math.min(...ratiosMinimal), max: Math.max(...ratiosMinimal) }, bareLoopMs: { median: median(rounds.map((x) => x.minimalPods.createToAllBoundMs)) } },
      perRound: rounds,
    };
    if (huge) {
      const mem = process.memoryUsage();
      await op.stop();
      writeAndPrintResult('operator-scale-16k', {
        fleet: { ...fleet, nodes, gpus: nodes * fleet.gpusPerNode },
        clusterIdleCores: idle,
        bigJob,
        operatorMemory: { note: 'operator runs in the bench process; rss and heap at the end', heapUsedMB: Number((mem.heapUsed / 2 ** 20).toFixed(1)), rssMB: Number((mem.rss / 2 ** 20).toFixed(1)) },
      });
      return;
    }

    // 2. Many small jobs at once.
    // A watch-fed cache of the jobs (not a list every 100 ms: 100 jobs' JSON ten times a second was API-server CPU
    // taken from the run it measured); a job's latency is taken when its Running phase arrives.
    const latencies = new Map<string, number>();
    const created = new Map<string, number>();
    const jobView = makeInformer<any>(kc, client, resourcePath('moe.io/v1alpha1', 'MoETrainingJob', 'bench'));
    const seen = (j: any) => {
      if (j.status?.phase === 'Running' && !latencies.has(j.metadata.name) && created.has(j.metadata.name)) latencies.set(j.metadata.name, performance.now() - created.get(j.metadata.name)!);
    };
    jobView.onAny(seen);
    await jobView.start();
    const settledMany = await waitQuiet(c.stateDir, idle.total);
    console.error(`[bench] small jobs after ${settledMany.waitedMs} ms for a quiet cluster: ${JSON.stringify(settledMany.cores)} cores`);
    const r0 = await reconcileCount(op.metrics);
    spans.reset();
    const cpuMany0 = clusterCpu(c.stateDir);
    const t2 = performance.now();
    await Promise.all(
      Array.from({ length: SMALL_JOBS }, async (_, i) => {
        const name = `s-${i}`;
        created.set(name, performance.now());
        spans.mark(`job/bench/${name}`);
        await client.create(smallJob(name) as any);
      }),
    );
    const deadline = performance.now() + (small ? 60_000 : 600_000);
    let lastLog = performance.now();
    while (latencies.size < SMALL_JOBS && performance.now() < deadline) {
      if (performance.now() - lastLog > 10_000) {
        lastLog = performance.now();
        const items = jobView.list();
        const hist: Record<string, number> = {};
        for (const j of items) hist[j.status?.phase ?? 'none'] = (hist[j.status?.phase ?? 'none'] ?? 0) + 1;
        const stuck = items.find((j: any) => j.status?.phase !== 'Running');
        console.error(`[bench] small jobs: ${JSON.stringify(hist)}; e.g. ${stuck?.metadata.name}: ${JSON.stringify(stuck?.status?.conditions?.map((c: any) => `${c.type}=${c.status} ${c.reason} ${c.message}`))}`);
      }
      await sleep(50);
    }
    await jobView.stop();
    const manyMs = performance.now() - t2;
    const cpuMany = cpuSince(cpuMany0, clusterCpu(c.stateDir));
    const r1 = await reconcileCount(op.metrics);
    const manySpans = spans.snapshot();
    // Events trail the writes (kube/events.ts sends one at a time): how many of the jobs' events were out by now.
    const events = (await client.list<any>(resourcePath('v1', 'Event', 'bench'), { fieldSelector: 'involvedObject.kind=MoETrainingJob' })).items.length;
    const mem = process.memoryUsage();
    await op.stop();

    const lat = [...latencies.values()];
    const result = {
      fleet: { ...fleet, nodes, gpus: nodes * fleet.gpusPerNode },
      clusterIdleCores: idle,
      workers: WORKERS,
      bigJob,
      smallJobs: {
        jobs: SMALL_JOBS,
        reachedRunning: lat.length,
        latencyMs: lat.length ? { p50: Math.round(pct(lat, 50)), p95: Math.round(pct(lat, 95)), max: Math.round(Math.max(...lat)) } : null,
        wallMs: Math.round(manyMs),
        reconciles: r1 - r0,
        reconcilesPerSecond: Number(((r1 - r0) / (manyMs / 1000)).toFixed(1)),
        jobEventsRecordedWhenAllRunning: events,
        cpuSeconds: cpuMany,
        settled: settledMany,
        breakdown: breakdown(manySpans, 'client'),
      },
      operatorMemory: {
        note: 'operator runs in the bench process; heap/rss growth from before the operator started to the end',
        heapUsedMB: Number(((mem.heapUsed - heap0.heapUsed) / 2 ** 20).toFixed(1)),
        rssMB: Number((mem.rss / 2 ** 20).toFixed(1)),
      },
    };
    writeAndPrintResult('operator-scale', result);
  } finally {
    await podView?.stop();
    await c.stop();
  }
}

interface BigRun {
  createToAllBoundMs: number;
  /** CPU of this process (the operator and the bench's polling; the bare loop: the loop and the polling), ms. */
  benchProcessCpuMs: number;
  /** Pods as the bench's own watch saw them (podTimeline). */
  pods: ReturnType<typeof podTimeline>;
  /** CPU seconds of each cluster process and of this one ('bench') during the run (cluster-cpu.ts). */
  cpuSeconds: Record<string, number>;
  reconciles?: number;
  gangReleaseSeconds?: number;
  planningMs?: number;
  breakdown: ReturnType<typeof breakdown>;
}

type Op = Awaited<ReturnType<typeof startOperator>>;

async function bigThroughOperator(c: LocalCluster, client: KubeClient, op: Op, name: string, pods: number): Promise<{ result: BigRun; planned: CachedPod[] }> {
  const big = bigJob(name);
  (big.spec as any).topologyRef = { name: 'h800-ib' };
  const rBig0 = await reconcileCount(op.metrics);
  const gang0 = await gangSum(op);
  spans.reset();
  const cpu0 = process.cpuUsage();
  const cluster0 = clusterCpu(c.stateDir);
  podSeen.clear();
  const t0 = performance.now();
  spans.mark(`job/bench/${name}`);
  await client.create(big as any);
  await waitBound(client, `moe.io/job-name=${name}`, pods, 900_000, name);
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = cpuSince(cluster0, clusterCpu(c.stateDir));
  console.error(`[bench] ${name} bound in ${Math.round(ms)} ms; CPU s ${JSON.stringify(cpuSeconds)}`);
  const s = spans.snapshot();
  const planned = podsWith(podView!, `moe.io/job-name=${name}`)
    .sort((a, b) => Number(a.metadata.labels!['moe.io/pod-index']) - Number(b.metadata.labels!['moe.io/pod-index']))
    .map((p) => structuredClone(p));
  const result: BigRun = {
    createToAllBoundMs: Math.round(ms),
    benchProcessCpuMs: Math.round((cpu.user + cpu.system) / 1000),
    pods: podTimeline(t0, (n) => n.startsWith(`${name}-`)),
    cpuSeconds,
    reconciles: (await reconcileCount(op.metrics)) - rBig0,
    gangReleaseSeconds: Number(((await gangSum(op)) - gang0).toFixed(3)),
    breakdown: breakdown(s, 'client'),
  };
  await c.kubectl(['-n', 'bench', 'delete', 'mtj', name, '--wait=true', '--timeout=600s']);
  await waitGone(`moe.io/job-name=${name}`);
  return { result, planned };
}

/** The operator's pod as the peer creates it: the same spec, labels and annotations; no gate, no binding, no owner
 *  (the job is gone) and not rank 0's ServiceAccount (deleted with the job); named by the caller. */
function peerPod(p: CachedPod): V1Pod {
  const spec = structuredClone(p.spec!);
  delete spec.nodeName;
  delete spec.schedulingGates;
  delete spec.priority; // set by admission from the (default) priority class
  if (spec.serviceAccountName) {
    delete spec.serviceAccountName;
    delete spec.serviceAccount;
    spec.automountServiceAccountToken = false;
    spec.volumes = spec.volumes?.filter((v) => !v.name.startsWith('kube-api-access-'));
    for (const c of spec.containers) c.volumeMounts = c.volumeMounts?.filter((m) => !m.name.startsWith('kube-api-access-'));
  }
  const { 'moe.io/job-name': _, ...labels } = p.metadata.labels ?? {};
  return { apiVersion: 'v1', kind: 'Pod', metadata: { labels, annotations: { ...(p.metadata.annotations ?? {}) } }, spec };
}

/** The minimal peer: the planned node's selector, the GPU and RDMA resources, the GPU toleration. */
function minimalPod(p: CachedPod): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {},
    spec: {
      restartPolicy: 'Never',
      nodeSelector: { 'kubernetes.io/hostname': p.spec!.nodeSelector!['kubernetes.io/hostname']! },
      tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists' }],
      containers: [{ name: 'trainer', image: 'moe-runtime:bench', resources: { limits: { 'nvidia.com/gpu': '8', 'rdma/ib': '1' }, requests: { 'nvidia.com/gpu': '8', 'rdma/ib': '1' } } }],
    },
  };
}

/** A peer: `podsToCreate` by a bare loop (32 in flight, no gates, no operator), named `<label>-<i>`, labelled bench=<label>. */
async function bigBareLoop(c: LocalCluster, client: KubeClient, podsToCreate: V1Pod[], label: string): Promise<BigRun> {
  const pods = podsToCreate.length;
  spans.reset();
  const cpu0 = process.cpuUsage();
  const cluster0 = clusterCpu(c.stateDir);
  podSeen.clear();
  const t1 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < pods) {
        const i = next++;
        const p = podsToCreate[i]!;
        await client.create({ ...p, metadata: { ...p.metadata, name: `${label}-${i}`, namespace: 'bench', labels: { ...(p.metadata!.labels ?? {}), bench: label } } } as any);
      }
    }),
  );
  await waitBound(client, `bench=${label}`, pods, 900_000);
  const ms = performance.now() - t1;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = cpuSince(cluster0, clusterCpu(c.stateDir));
  console.error(`[bench] bare loop bound in ${Math.round(ms)} ms; CPU s ${JSON.stringify(cpuSeconds)}`);
  const result: BigRun = { createToAllBoundMs: Math.round(ms), benchProcessCpuMs: Math.round((cpu.user + cpu.system) / 1000), pods: podTimeline(t1, (n) => n.startsWith(`${label}-`)), cpuSeconds, breakdown: breakdown(spans.snapshot(), 'bench') };
  await c.kubectl(['-n', 'bench', 'delete', 'pods', '-l', `bench=${label}`, '--wait=true', '--timeout=600s']);
  return result;
}

async function waitGone(selector: string): Promise<void> {
  await waitPods(podView!, selector, (ps) => ps.length === 0, 300_000, `pods ${selector} gone`);
}

async function gangSum(op: Op): Promise<number> {
  const gang = await op.metrics.part(mtjMetrics).gangReleaseSeconds.get();
  return gang.values.find((v) => v.metricName?.endsWith('_sum'))?.value ?? 0;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : Number(((s[m - 1]! + s[m]!) / 2).toFixed(2));
};


/** The issue's breakdown from the spans of one run; `client`: the span prefix of the client that did the writes. */
function breakdown(s: Record<string, SpanStats>, client: string) {
  const pick = (k: string) => (s[k] ? { count: s[k].count, wallMs: Math.round(s[k].wallMs), meanMs: s[k].meanMs, maxMs: s[k].maxMs } : null);
  const requests = Object.entries(s).filter(([k]) => k.startsWith(`${client}.request.`)).reduce((a, [, v]) => a + v.count, 0);
  const own = ['auth', 'serialize', 'parse'].reduce((a, k) => a + (s[`${client}.${k}`]?.totalMs ?? 0), 0);
  return {
    // The bench's create of the job → the operator starts creating its pods.
    applyToFirstCreate: pick('mtj.applyToFirstCreate'),
    planning: pick('mtj.plan'),
    podCreation: pick('mtj.createPods'),
    gateRemoval: pick('mtj.releaseGang'),
    informerLagPod: pick('informer.lag.Pod'),
    // Time a key waits in the work queue for a free worker (all workers busy: reconciles in line).
    queueWait: pick('queue.wait'),
    statusWrites: pick('mtj.writeStatus'),
    reconcileSteps: pick('mtj.steps'),
    client: {
      requests,
      byMethod: Object.fromEntries(Object.entries(s).filter(([k]) => k.startsWith(`${client}.request.`)).map(([k, v]) => [k.slice(`${client}.request.`.length), v.count])),
      meanMsByMethod: Object.fromEntries(Object.entries(s).filter(([k]) => k.startsWith(`${client}.request.`)).map(([k, v]) => [k.slice(`${client}.request.`.length), v.meanMs])),
      // Time the client spends on its own (auth + serialise + parse), per request; send = on the wire and in the server.
      overheadMsPerRequest: requests ? Number((own / requests).toFixed(3)) : null,
      authMsMean: s[`${client}.auth`]?.meanMs ?? null,
      serializeMsMean: s[`${client}.serialize`]?.meanMs ?? null,
      parseMsMean: s[`${client}.parse`]?.meanMs ?? null,
      sendMsMean: s[`${client}.send`]?.meanMs ?? null,
    },
  };
}

async function reconcileCount(metrics: { reconciles: { get(): Promise<{ values: Array<{ value: number }> }> } }): Promise<number> {
  const m = await metrics.reconciles.get();
  return m.values.reduce((a, v) => a + v.value, 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
