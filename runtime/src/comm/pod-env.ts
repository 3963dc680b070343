// Reads the operator-to-pod contract (DESIGN.md §4; the names are operator/contract/pod-env.ts) from the environment.
// Pure apart from reading `env`.
import { RankEnv, TrainEnv } from '../../../operator/contract/index.js';

export interface DistEnv {
  rank: number;
  worldSize: number;
  localRank: number;
  localWorldSize: number;
  masterAddr: string;
  masterPort: number;
  ppRank: number;
  epRank: number;
  dpRank: number;
  tpRank: number;
  /** Path of the mounted plan, when the operator gave one. */
  planPath?: string;
  job?: string;
  restart: number;
  /** The address this rank's Gloo device listens on: MOE_POD_IP (the local runner's), else POD_IP, else the hostname. */
  hostAddr: string;
  /** True when hostAddr came from MOE_POD_IP or POD_IP (the downward API's status.podIP), not the hostname. */
  podAddrGiven: boolean;
}

function int(env: NodeJS.ProcessEnv, name: string, dflt?: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') {
    if (dflt !== undefined) return dflt;
    throw new Error(`${name} is not set: the operator sets it on every pod (torchrun-compatible); set it by hand to run locally`);
  }
  const v = Number(raw);
  if (!Number.isInteger(v) || v < 0) throw new Error(`${name} must be a non-negative integer, got '${raw}'`);
  return v;
}

export function readDistEnv(env: NodeJS.ProcessEnv = process.env, hostname = 'localhost'): DistEnv {
  const {
    worldSize: WORLD_SIZE, rank: RANK, masterAddr: MASTER_ADDR, masterPort: MASTER_PORT,
    localRank: LOCAL_RANK, localWorldSize: LOCAL_WORLD_SIZE, nodeRank: NODE_RANK, nnodes: NNODES,
  } = RankEnv;
  const worldSize = int(env, WORLD_SIZE);
  if (worldSize < 1) throw new Error(`${WORLD_SIZE} must be at least 1`);
  const rank = int(env, RANK);
  if (rank >= worldSize) throw new Error(`${RANK} ${rank} must be below ${WORLD_SIZE} ${worldSize}`);
  const masterAddr = env[MASTER_ADDR];
  if (!masterAddr) throw new Error(`${MASTER_ADDR} is not set: the address (DNS name) of rank 0, which serves the rendezvous store`);
  const masterPort = int(env, MASTER_PORT);
  if (masterPort < 1 || masterPort > 65535) throw new Error(`${MASTER_PORT} must be in 1..65535, got ${masterPort}`);
  const podIp = env.MOE_POD_IP || env[RankEnv.podIp];
  const out: DistEnv = {
    rank, worldSize, masterAddr, masterPort,
    localRank: int(env, LOCAL_RANK, 0),
    localWorldSize: int(env, LOCAL_WORLD_SIZE, 1),
    ppRank: int(env, TrainEnv.ppRank, 0),
    epRank: int(env, TrainEnv.epRank, 0),
    dpRank: int(env, TrainEnv.dpRank, 0),
    tpRank: int(env, TrainEnv.tpRank, 0),
    restart: int(env, TrainEnv.restart, 0),
    hostAddr: podIp || hostname,
    podAddrGiven: !!podIp,
  };
  // torchrun's node view (the operator sets it for other runtimes too): it must describe the same ranks.
  if (env[NODE_RANK] !== undefined && env[NODE_RANK] !== '') {
    const node = int(env, NODE_RANK);
    if (node * out.localWorldSize + out.localRank !== rank) {
      throw new Error(`${NODE_RANK} ${node} × ${LOCAL_WORLD_SIZE} ${out.localWorldSize} + ${LOCAL_RANK} ${out.localRank} is not ${RANK} ${rank}: the pod contract is inconsistent`);
    }
  }
  if (env[NNODES] !== undefined && env[NNODES] !== '' && int(env, NNODES) * out.localWorldSize !== worldSize) {
    throw new Error(`${NNODES} ${env[NNODES]} × ${LOCAL_WORLD_SIZE} ${out.localWorldSize} is not ${WORLD_SIZE} ${worldSize}: the pod contract is inconsistent`);
  }
  if (env[TrainEnv.plan]) out.planPath = env[TrainEnv.plan];
  if (env[TrainEnv.job]) out.job = env[TrainEnv.job];
  return out;
}

/**
 * Where rank 0's rendezvous store listens: the pod's own address (MOE_POD_IP / POD_IP), else the address MASTER_ADDR
 * names, which is rank 0's own by definition. Never every interface: pods sharing one network (host networking, the
 * local runner) would collide on MASTER_PORT.
 */
export function storeListenHost(env: Pick<DistEnv, 'hostAddr' | 'podAddrGiven' | 'masterAddr'>): string {
  return env.podAddrGiven ? env.hostAddr : env.masterAddr;
}
