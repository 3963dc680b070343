// Wiring of expert parallelism for the pods of one replica (WORLD_SIZE > 1; RANK = the pod's index in the gang):
// every pod joins the replica's process group (rendezvous at MASTER_ADDR:MASTER_PORT, as in training); rank 0 gets
// an Engine whose routed experts run across the pods, the other ranks serve their expert slots until rank 0 closes.
import { resolveDistAddresses } from '../../comm/resolve.js';
import { distOptionsFromEnv, initDistributed, type Dist } from '../../comm/init.js';
import { readDistEnv } from '../../comm/pod-env.js';
import { nativeAvailable } from '../../model/precision.js';
import { Engine } from './engine.js';
import { ExpertParallelLeader, serveExpertShard, type ShardStats } from './expert-parallel.js';
import { loadModelFolder } from './load.js';
import type { EngineOptions } from './types.js';

export type ReplicaRole = { rank: 0; engine: Engine; dist: Dist } | { rank: number; done: Promise<ShardStats>; dist: Dist };

export async function joinReplica(modelPath: string, opts: EngineOptions, env: NodeJS.ProcessEnv = process.env): Promise<ReplicaRole> {
  const opts0 = distOptionsFromEnv(env);
  // Pod names (MASTER_ADDR) resolve through the local cluster's hosts file when there is one, as in training.
  const dist = await initDistributed(await resolveDistAddresses(readDistEnv(env), opts0.timeoutMs, env), opts0);
  if (dist.rank === 0) {
    return { rank: 0, engine: await Engine.load(modelPath, { ...opts, expertParallel: new ExpertParallelLeader(dist.world) }), dist };
  }
  const m = loadModelFolder(modelPath, (msg) => opts.log?.({ level: 'warn', msg }));
  const precision = opts.precision ?? (nativeAvailable() ? 'fp8' : 'fp32');
  return { rank: dist.rank, done: serveExpertShard(dist.world, m.config, m.weights, precision), dist };
}

