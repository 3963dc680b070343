// moe-operator: wiring only. Caches start on every replica (a standby is warm); only the Lease holder reconciles.
// Environment: KUBECONFIG (else in-cluster), METRICS_ADDR (:8080), LEADER_ELECT (true), LEASE_NAMESPACE
// (POD_NAMESPACE), LEASE_NAME (moe-operator), WORKERS (8), WATCH_NAMESPACES (comma-separated; all when empty; the
// older WATCH_NAMESPACE adds one), LOG_LEVEL (info), LEASE_DURATION_SECONDS (15), RENEW_DEADLINE_SECONDS (10),
// RETRY_PERIOD_SECONDS (2), POD_NAME and POD_UID (the chart's downward API: a restarted container takes its own
// predecessor's lease at once, see kube/leader.ts decide).
import { randomBytes } from 'node:crypto';
import { KubeConfig } from '@kubernetes/client-node';
import { EvalController } from './controllers/eval/setup.js';
import { InfdController } from './controllers/infd/setup.js';
import { MtjController } from './controllers/mtj/setup.js';
import { loadPlanner } from './controllers/mtj/planner.js';
import { namespacesFromEnv } from './controllers/namespaces.js';
import { TopologyController } from './controllers/topology/setup.js';
import { LeaderElector, leaderIdentity } from './kube/leader.js';
import { makeLogger } from './kube/log.js';
import { OperatorMetrics } from './kube/metrics.js';
import { FIELD_MANAGER } from './api/constants.js';
import { KubeClient } from './kube/rest.js';
import { startProbeServer } from './kube/server.js';

async function main(): Promise<void> {
  const env = process.env;
  const log = makeLogger();
  const kc = new KubeConfig();
  if (env.KUBECONFIG) kc.loadFromFile(env.KUBECONFIG);
  // MOE_POD_ROOT: where a pod's files are when the local process runner runs it (unset in a real pod).
  else kc.loadFromCluster(env.MOE_POD_ROOT ?? '');
  const client = new KubeClient(kc, FIELD_MANAGER);
  const metrics = new OperatorMetrics();
  const plan = await loadPlanner();
  const namespaces = namespacesFromEnv(env);
  log.info('watching', { namespaces: namespaces ?? 'all' });
  const mtj = new MtjController({
    kc,
    client,
    plan,
    metrics,
    log,
    workers: Number(env.WORKERS ?? 8),
    ...(namespaces ? { namespaces } : {}),
  });
  const infd = new InfdController({
    kc,
    client,
    metrics,
    log,
    workers: Number(env.WORKERS ?? 8),
    ...(namespaces ? { namespaces } : {}),
  });
  // MoEEvaluation: evaluation pods against served models, model folders and a training job's checkpoints.
  const evaluations = new EvalController({ kc, client, metrics, log, workers: Number(env.WORKERS ?? 8), ...(namespaces ? { namespaces } : {}) });
  // Fills ClusterTopology status.levels, the LEVELS column of `kubectl get clustertopology`.
  const topology = new TopologyController({ kc, client, metrics, log });
  const [host, port] = (env.METRICS_ADDR ?? ':8080').split(':');
  const server = await startProbeServer({ host: host || '0.0.0.0', port: Number(port), registry: metrics.registry, ready: () => mtj.synced() && infd.synced() && evaluations.synced() && topology.synced() });
  log.info('probe server listening', { addr: env.METRICS_ADDR ?? ':8080' });

  await Promise.all([mtj.sync(), infd.sync(), evaluations.sync(), topology.sync()]);
  log.info('caches synced');

  const { identity, pod } = leaderIdentity(env, randomBytes(4).toString('hex'));
  let elector: LeaderElector | undefined;
  if ((env.LEADER_ELECT ?? 'true') !== 'false') {
    elector = new LeaderElector({
      client,
      namespace: env.LEASE_NAMESPACE ?? env.POD_NAMESPACE ?? 'default',
      name: env.LEASE_NAME ?? 'moe-operator',
      identity,
      ...(pod ? { pod } : {}),
      ...leaseTimings(env),
      onStartedLeading: () => {
        log.info('became leader', { identity });
        metrics.isLeader.set(1);
        mtj.run();
        infd.run();
        evaluations.run();
        topology.run();
      },
      onStoppedLeading: () => {
        // Like client-go: a replica that lost the lease exits and starts clean rather than reconcile in doubt.
        log.error('lost leadership; exiting', { identity });
        metrics.isLeader.set(0);
        process.exit(1);
      },
      onError: (e) => log.warn('leader election', { err: String(e) }),
    });
    elector.start();
  } else {
    metrics.isLeader.set(1);
    mtj.run();
    infd.run();
    evaluations.run();
    topology.run();
  }

  let stopping = false;
  const shutdown = async (sig: string) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal: sig });
    // Reconciles in flight finish first (the lease is still renewed meanwhile), then the lease is released, so the
    // successor takes over at its next retry and never writes beside this process.
    await Promise.all([mtj.stop(), infd.stop(), evaluations.stop(), topology.stop()]);
    await elector?.stop();
    server.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

/** The election's timings from the environment (client-go's defaults when unset); a bad value names its variable. */
function leaseTimings(env: NodeJS.ProcessEnv): { leaseDurationSeconds: number; renewDeadlineSeconds: number; retryPeriodSeconds: number } {
  const secs = (name: string, def: number) => {
    const v = env[name];
    if (v === undefined || v === '') return def;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0 || n > 3600) throw new Error(`${name}=${v}: expected seconds, a number above 0 and at most 3600`);
    return n;
  };
  const t = { leaseDurationSeconds: secs('LEASE_DURATION_SECONDS', 15), renewDeadlineSeconds: secs('RENEW_DEADLINE_SECONDS', 10), retryPeriodSeconds: secs('RETRY_PERIOD_SECONDS', 2) };
  if (!(t.retryPeriodSeconds < t.renewDeadlineSeconds && t.renewDeadlineSeconds < t.leaseDurationSeconds)) {
    throw new Error(`RETRY_PERIOD_SECONDS (${t.retryPeriodSeconds}) < RENEW_DEADLINE_SECONDS (${t.renewDeadlineSeconds}) < LEASE_DURATION_SECONDS (${t.leaseDurationSeconds}) must hold: a leader must give up before its lease can be taken`);
  }
  return t;
}

main().catch((err: unknown) => {
  console.error(JSON.stringify({ level: 'error', message: 'operator failed to start', err: String((err as Error)?.stack ?? err) }));
  process.exit(1);
});
