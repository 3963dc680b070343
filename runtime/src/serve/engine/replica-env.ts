// Pure: the contract env a serving replica's process joins its process group with. A serving pod runs one process, so
// in the replica's group the pod is one rank: WORLD_SIZE is the replica's pods and RANK the pod's index. The node view
// (NODE_RANK × LOCAL_WORLD_SIZE + LOCAL_RANK = RANK, NNODES × LOCAL_WORLD_SIZE = WORLD_SIZE, checked by readDistEnv)
// must say the same: one rank per pod. The operator's pod env counts GPUs instead (LOCAL_WORLD_SIZE = GPUs per pod), which
// would fail that check for any replica of more than one pod with more than one GPU each.
import { RankEnv } from '../../../../operator/contract/index.js';

export function replicaRankEnv(env: NodeJS.ProcessEnv, pods: number, index: number): NodeJS.ProcessEnv {
  return {
    ...env,
    [RankEnv.worldSize]: String(pods),
    [RankEnv.rank]: String(index),
    [RankEnv.nodeRank]: String(index),
    [RankEnv.nnodes]: String(pods),
    [RankEnv.localRank]: '0',
    [RankEnv.localWorldSize]: '1',
  };
}
