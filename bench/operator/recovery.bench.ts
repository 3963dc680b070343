// Recovery check (not a timed test), issue 16 §3: on the scale bench's fleet (256 nodes × 8 GPUs), a 2048-GPU
// MoETrainingJob (256 pods) from create to all pods Running, with the operator (operator/main.ts as a real process,
// run as the chart runs it: POD_NAME/POD_UID, leader election on) left alone, against the same with the operator
// SIGKILLed once during the gang's creation and release (its container restarted after ~1 s, as the kubelet does).
// The kill moments are spread evenly over the fault-free time to gang release; fault-free and killed runs take turns
// on one cluster. Each killed run is checked: no pod index missing or twice, no orphan, no pod left gated.
// Writes bench/results/operator-recovery.json. Env: MOE_BENCH_KILLS (default 7), MOE_BENCH_SMALL=1 (16 nodes, 8 pods),
// MOE_BENCH_SAME_POD_TAKEOVER=0: the process runs without POD_UID, so its successor waits for the lease to expire as
// before the same-pod takeover (→ bench/results/operator-recovery-lease-expiry.json).
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startCluster, type LocalCluster } from '../../test/cluster/index.js';
import { installCrds } from '../../test/integration/operator/harness.js';
import { OperatorPod, gangProblems, leaseHolder } from '../../test/integration/operator/operator-pod.js';
import { FIELD_MANAGER, SCHEDULING_GATE } from '../../operator/api/constants.js';
import { KubeClient, resourcePath } from '../../operator/kube/rest.js';
import type { Informer } from '../../operator/kube/informer.js';
import { podCache, podsWith, waitPods, type CachedPod } from './pod-cache.js';
import { writeAndPrintResult } from '../result-file.js';

const small = process.env.MOE_BENCH_SMALL === '1';
const KILLS = Number(process.env.MOE_BENCH_KILLS ?? 7);
const samePod = process.env.MOE_BENCH_SAME_POD_TAKEOVER !== '0';
const fleet = small ? { spines: 1, leavesPerSpine: 2, nodesPerLeaf: 8, gpusPerNode: 8 } : { spines: 2, leavesPerSpine: 8, nodesPerLeaf: 16, gpusPerNode: 8 };
const BIG = small ? { stages: 2, expert: 16, data: 2 } : { stages: 16, expert: 64, data: 2 };
const PODS = (BIG.stages * BIG.expert * BIG.data) / 8;

const job = (name: string) => ({
  apiVersion: 'moe.io/v1alpha1',
  kind: 'MoETrainingJob',
  metadata: { name, namespace: 'bench' },
  spec: {
    model: { preset: 'deepseek-v3-671b' },
    topologyRef: { name: 'h800-ib' },
    parallelism: { pipeline: { stages: BIG.stages, schedule: 'DualPipe', microBatches: 2 * BIG.stages }, expert: BIG.expert, data: BIG.data, gpusPerPod: 8 },
    training: { globalBatchSize: BIG.expert * BIG.data * 2 * BIG.stages * 4, sequenceLength: 4096 },
    template: { spec: { containers: [{ name: 'trainer', image: 'moe-runtime:bench' }] } },
  },
});

let podView: Informer<CachedPod> | undefined;
const gated = (p: CachedPod) => !!p.spec?.schedulingGates?.some((g) => g.name === SCHEDULING_GATE);

interface Run {
  kind: 'fault-free' | 'kill';
  createToAllRunningMs: number;
  /** When all pods existed and none was gated any more (ms after create), as the bench's polling saw it. */
  releasedMs?: number;
  kill?: { atMs: number; podsAtKill: number; gatedAtKill: number; newLeaderAfterMs: number | null };
  problems: string[];
}

async function runOnce(c: LocalCluster, client: KubeClient, op: OperatorPod, name: string, killAtMs?: number): Promise<Run> {
  const label = `moe.io/job-name=${name}`;
  const holder0 = await leaseHolder(client);
  let kill: Run['kill'];
  const t0 = performance.now();
  await client.create(job(name) as never);
  let killer: Promise<void> | undefined;
  if (killAtMs !== undefined) {
    killer = (async () => {
      await sleep(killAtMs);
      op.kill();
      const atMs = Math.round(performance.now() - t0);
      const items = podsWith(podView!, label);
      kill = { atMs, podsAtKill: items.length, gatedAtKill: items.filter(gated).length, newLeaderAfterMs: null };
      for (let i = 0; i < 1200; i++) {
        const h = await leaseHolder(client);
        if (h && h !== holder0) {
          kill.newLeaderAfterMs = Math.round(performance.now() - t0 - atMs);
          return;
        }
        await sleep(50);
      }
    })();
  }
  let releasedMs: number | undefined;
  await waitPods(
    podView!,
    label,
    (ps) => {
      if (releasedMs === undefined && ps.length === PODS && !ps.some(gated)) releasedMs = Math.round(performance.now() - t0);
      return ps.length === PODS && ps.every((p) => p.status?.phase === 'Running');
    },
    300_000,
    `${name}: all ${PODS} pods Running (operator log: ${op.log()})`,
  );
  const ms = Math.round(performance.now() - t0);
  await killer;
  const problems = await gangProblems(client, 'bench', name, PODS);
  console.error(`[bench] ${name}: ${ms} ms${kill ? ` (killed at ${kill.atMs} ms with ${kill.podsAtKill} pods, ${kill.gatedAtKill} gated; new leader ${kill.newLeaderAfterMs} ms later)` : ''}${problems.length ? ` PROBLEMS: ${problems.join('; ')}` : ''}`);
  await c.kubectl(['-n', 'bench', 'delete', 'mtj', name, '--wait=true', '--timeout=300s']);
  await waitPods(podView!, label, (ps) => ps.length === 0, 300_000, `${name}: pods gone`);
  return { kind: killAtMs === undefined ? 'fault-free' : 'kill', createToAllRunningMs: ms, ...(releasedMs !== undefined ? { releasedMs } : {}), ...(kill ? { kill } : {}), problems };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function main(): Promise<void> {
  const c = await startCluster({ fleet, runnerNodes: 0, timeoutMs: 300_000 });
  let op: OperatorPod | undefined;
  try {
    await installCrds(c);
    await c.kubectl(['apply', '-f', join(process.cwd(), 'examples', 'cluster-topology.yaml')]);
    await c.kubectl(['create', 'namespace', 'bench']);
    const kc = c.kubeConfig();
    const client = new KubeClient(kc, FIELD_MANAGER);
    await client.request('PATCH', resourcePath('moe.io/v1alpha1', 'ClusterTopology', undefined, 'h800-ib'), { body: { spec: { rails: 0 } }, contentType: 'application/merge-patch+json' });
    podView = await podCache(kc, client, 'bench');
    op = new OperatorPod(c, kc, 'moe-operator-0', samePod ? {} : { POD_UID: '' });
    await op.start();
    for (let i = 0; i < 600 && !(await leaseHolder(client)); i++) await sleep(100);
    console.error(`[bench] ${PODS}-pod gang, ${KILLS} kills; leader ${await leaseHolder(client)}`);

    const runs: Run[] = [];
    // A first fault-free run gives the span of creation and release that the kills are spread over.
    const first = await runOnce(c, client, op, 'warm');
    const span = first.releasedMs ?? first.createToAllRunningMs;
    for (let k = 0; k < KILLS; k++) {
      runs.push(await runOnce(c, client, op, `ok-${k}`));
      runs.push(await runOnce(c, client, op, `kill-${k}`, Math.round(((k + 0.5) / KILLS) * span)));
    }
    const ok = runs.filter((r) => r.kind === 'fault-free').map((r) => r.createToAllRunningMs);
    const killed = runs.filter((r) => r.kind === 'kill').map((r) => r.createToAllRunningMs);
    const faultFree = median(ok);
    const result = {
      fleet: { ...fleet, nodes: fleet.spines * fleet.leavesPerSpine * fleet.nodesPerLeaf },
      pods: PODS,
      operator: { samePodTakeover: samePod, leaseDurationSeconds: 15, restartDelayMs: op.restartDelayMs, processStarts: op.starts, warmRun: first },
      faultFreeMs: { median: faultFree, min: Math.min(...ok), max: Math.max(...ok) },
      oneKillMs: { median: median(killed), min: Math.min(...killed), max: Math.max(...killed) },
      ratio: { median: Number((median(killed) / faultFree).toFixed(2)), worst: Number((Math.max(...killed) / faultFree).toFixed(2)) },
      newLeaderAfterKillMs: runs.flatMap((r) => (r.kill?.newLeaderAfterMs != null ? [r.kill.newLeaderAfterMs] : [])),
      problems: runs.flatMap((r) => r.problems),
      runs,
    };
    writeAndPrintResult(samePod ? 'operator-recovery' : 'operator-recovery-lease-expiry', result);
    if (result.problems.length) process.exitCode = 1;
  } finally {
    await op?.stop();
    await podView?.stop();
    await c.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
