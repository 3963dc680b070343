// Wiring of expert parallelism for the pods of one replica (WORLD_SIZE > 1; RANK = the pod's index in the gang):
// every pod joins the replica's process group (rendezvous at MASTER_ADDR:MASTER_PORT, as in training). Two layouts:
//   alltoall (default): every pod gets an Engine for its own sequences, stepping in lockstep with the others; the
//     routed experts are an all-to-all (expert-all-to-all.ts). A second group `serve-urls` lets the pods tell each
//     other their HTTP address once they listen (the leader forwards new sequences to them).
//   star: rank 0 gets an Engine whose routed experts run across the pods, the other ranks serve their expert slots
//     until rank 0 closes (expert-parallel.ts).
import { resolveDistAddresses } from '../../comm/resolve.js';
import { distOptionsFromEnv, initDistributed, type Dist } from '../../comm/init.js';
import { readDistEnv } from '../../comm/pod-env.js';
import type { ProcessGroup } from '../../comm/process-group.js';
import { nativeAvailable } from '../../model/precision.js';
import { Engine } from './engine.js';
import { ExpertAllToAll } from './expert-all-to-all.js';
import { ExpertParallelLeader, serveExpertShard, type ShardStats } from './expert-parallel.js';
import { loadModelFolder } from './load.js';
import type { EngineOptions } from './types.js';

export type ReplicaLayout = 'alltoall' | 'star';

/** The env a pod reads its layout from (not set by the controller; add it to the template's env to pick the star). */
export const LAYOUT_ENV = 'MOE_SERVE_EP_LAYOUT';

export function replicaLayout(v: string | undefined): ReplicaLayout {
  if (v === undefined || v === '' || v === 'alltoall') return 'alltoall';
  if (v === 'star') return 'star';
  throw new Error(`${LAYOUT_ENV} / --ep-layout must be alltoall (data-parallel attention, expert all-to-all) or star (the leader runs every sequence), got ${JSON.stringify(v)}`);
}

/** The all-to-all's dispatch (expert-all-to-all.ts): exact (default) or padded. Not set by the controller. */
export const DISPATCH_ENV = 'MOE_SERVE_EP_DISPATCH';

export function dispatchOption(v: string | undefined): 'exact' | 'padded' {
  if (v === undefined || v === '' || v === 'exact') return 'exact';
  if (v === 'padded') return 'padded';
  throw new Error(`${DISPATCH_ENV} must be exact (counts, rows, outputs per MoE layer) or padded (counts inside the rows' segments after a round's first layer), got ${JSON.stringify(v)}`);
}

export type ReplicaRole =
  | { layout: 'alltoall'; rank: number; engine: Engine; dist: Dist; urls: ProcessGroup }
  | { layout: 'star'; rank: 0; engine: Engine; dist: Dist }
  | { layout: 'star'; rank: number; done: Promise<ShardStats>; dist: Dist };

export async function joinReplica(modelPath: string, opts: EngineOptions, env: NodeJS.ProcessEnv = process.env, layout: ReplicaLayout = 'alltoall'): Promise<ReplicaRole> {
  const opts0 = distOptionsFromEnv(env);
  // Pod names (MASTER_ADDR) resolve through the local cluster's hosts file when there is one, as in training.
  const dist = await initDistributed(await resolveDistAddresses(readDistEnv(env), opts0.timeoutMs, env), opts0);
  if (layout === 'alltoall') {
    const urls = await dist.group({ name: 'serve-urls', ranks: Array.from({ length: dist.size }, (_, i) => i) });
    const engine = await Engine.load(modelPath, { ...opts, allToAll: new ExpertAllToAll(dist.world, dispatchOption(env[DISPATCH_ENV])) });
    return { layout, rank: dist.rank, engine, dist, urls };
  }
  if (dist.rank === 0) {
    return { layout, rank: 0, engine: await Engine.load(modelPath, { ...opts, expertParallel: new ExpertParallelLeader(dist.world) }), dist };
  }
  const m = loadModelFolder(modelPath, (msg) => opts.log?.({ level: 'warn', msg }));
  const precision = opts.precision ?? (nativeAvailable() ? 'fp8' : 'fp32');
  return { layout, rank: dist.rank, done: serveExpertShard(dist.world, m.config, m.weights, precision), dist };
}

/** Every pod's base URL, in rank order (each pod calls it once, after it listens). */
export async function exchangeUrls(urls: ProcessGroup, mine: string): Promise<string[]> {
  const W = 256;
  const b = Buffer.from(mine, 'utf8');
  if (b.length > W) throw new Error(`serve: the pod URL ${mine} is longer than ${W} bytes`);
  const buf = new Uint8Array(W);
  buf.set(b);
  const all = new Uint8Array(W * urls.size);
  await urls.allgather(buf, all);
  return Array.from({ length: urls.size }, (_, r) => {
    const s = all.subarray(r * W, (r + 1) * W);
    const end = s.indexOf(0);
    return Buffer.from(end < 0 ? s : s.subarray(0, end)).toString('utf8');
  });
}
