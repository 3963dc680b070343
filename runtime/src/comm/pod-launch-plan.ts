// The in-pod launcher's plan (pure): the operator gives a pod of several GPUs one environment, that of its first rank
// (LOCAL_RANK 0, LOCAL_WORLD_SIZE = GPUs per pod); like torchrun's local agent, `moe-runtime train` then starts one
// process per GPU. This decides whether to launch and each process's environment; pod-launch.ts spawns them.
import { RankEnv, TrainEnv, type PodPlanDocument } from '../../../operator/contract/index.js';
import { readDistEnv } from './pod-env.js';

/** Set on every process the launcher starts: a launched rank runs its rank and never launches again. */
export const LAUNCHED_ENV = 'MOE_LAUNCHED_BY_POD';
/** The native kernels' thread pool size (runtime/native/kernels/cpu.cc; default: every CPU). */
export const NUM_THREADS_ENV = 'MOE_NUM_THREADS';

export type RankTable = Pick<NonNullable<NonNullable<PodPlanDocument['plan']>['rankTable']>, 'pp' | 'ep' | 'dp' | 'tp'>;

/** The plan's rank table; a plan without one means pure data parallelism (every rank a data-parallel replica). */
export function planRankTable(doc: PodPlanDocument | undefined, worldSize: number): RankTable {
  return doc?.plan?.rankTable ?? {
    pp: Array(worldSize).fill(0), ep: Array(worldSize).fill(0), dp: Array.from({ length: worldSize }, (_, i) => i), tp: Array(worldSize).fill(0),
  };
}

/** True when this process is a pod's launcher: a multi-rank job, several GPUs in the pod, not itself launched. */
export function launchesRanks(env: NodeJS.ProcessEnv): boolean {
  return !env[LAUNCHED_ENV] && Number(env[RankEnv.worldSize] ?? '1') > 1 && Number(env[RankEnv.localWorldSize] ?? '1') > 1;
}

export interface LocalRank {
  rank: number;
  localRank: number;
  /** Set over the pod's environment for this process. */
  env: Record<string, string>;
}

/**
 * The processes of the pod whose contract env is `env`: ranks RANK .. RANK + LOCAL_WORLD_SIZE - 1, each with its own
 * RANK, LOCAL_RANK and MOE_{PP,EP,DP,TP}_RANK from the rank table (NODE_RANK, NNODES, LOCAL_WORLD_SIZE stay the
 * pod's, so NODE_RANK × LOCAL_WORLD_SIZE + LOCAL_RANK = RANK holds for each). The pod's CPUs are split evenly over
 * them as MOE_NUM_THREADS, unless the pod sets it (then it is each process's size, as given).
 */
export function podLaunchPlan(env: NodeJS.ProcessEnv, table: RankTable, cpus: number): LocalRank[] {
  const pod = readDistEnv(env); // the pod's own contract must be consistent first
  const n = pod.localWorldSize;
  if (pod.localRank !== 0) {
    throw new Error(`${RankEnv.localRank} ${pod.localRank}: the pod's launcher starts at the pod's first rank (${RankEnv.localRank} 0); set ${LAUNCHED_ENV}=1 to run one rank by hand`);
  }
  if (pod.rank + n > pod.worldSize) {
    throw new Error(`${RankEnv.rank} ${pod.rank} + ${RankEnv.localWorldSize} ${n} exceeds ${RankEnv.worldSize} ${pod.worldSize}: the pod contract is inconsistent`);
  }
  for (const k of ['pp', 'ep', 'dp', 'tp'] as const) {
    if (table[k].length !== pod.worldSize) throw new Error(`plan rankTable.${k} has ${table[k].length} entries, ${RankEnv.worldSize} is ${pod.worldSize}`);
  }
  const threads = env[NUM_THREADS_ENV] ? undefined : String(Math.max(1, Math.floor(cpus / n)));
  return Array.from({ length: n }, (_, localRank) => {
    const rank = pod.rank + localRank;
    return {
      rank, localRank,
      env: {
        [LAUNCHED_ENV]: '1',
        [RankEnv.rank]: String(rank),
        [RankEnv.localRank]: String(localRank),
        [TrainEnv.ppRank]: String(table.pp[rank]),
        [TrainEnv.epRank]: String(table.ep[rank]),
        [TrainEnv.dpRank]: String(table.dp[rank]),
        [TrainEnv.tpRank]: String(table.tp[rank]),
        ...(threads ? { [NUM_THREADS_ENV]: threads } : {}),
      },
    };
  });
}
