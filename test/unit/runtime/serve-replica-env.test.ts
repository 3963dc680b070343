// The serving pod contract end to end without a cluster: the env the operator gives pod i of a multi-pod replica
// (infd/desired.ts rolePod) must be readable by the runtime's contract reader once the serving process has made it
// its replica's view (one rank per pod).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Pod } from '@kubernetes/client-node';
import { rolePod } from '../../../operator/controllers/infd/desired.js';
import { roleShape } from '../../../operator/controllers/infd/spec.js';
import { readDistEnv } from '../../../runtime/src/comm/pod-env.js';
import { replicaRankEnv } from '../../../runtime/src/serve/engine/replica-env.js';
import { CTX, makeDeployment } from '../controllers/infd-fixtures.js';

const literalEnv = (p: V1Pod) => Object.fromEntries(p.spec!.containers[0]!.env!.filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));

test('each pod of a 2-pod × 8-GPU decode replica joins its group as rank = pod index of world 2', () => {
  const d = makeDeployment('s').obj();
  const decode = roleShape(d, 'decode');
  assert.deepEqual([decode.pods, decode.gpusPerPod], [2, 8], 'the fixture is the multi-pod, multi-GPU case');
  for (const index of [0, 1]) {
    const env = literalEnv(rolePod(d, decode, 3, index, CTX, 'rev1', {}));
    // The pod's own env describes GPUs (RANK 8 of 16 for pod 1): not the serving process's view, which readDistEnv refuses.
    assert.throws(() => readDistEnv({ ...env, WORLD_SIZE: '2', RANK: String(index) }), /the pod contract is inconsistent/);
    const dist = readDistEnv(replicaRankEnv(env, decode.pods, index));
    assert.deepEqual([dist.rank, dist.worldSize, dist.localRank, dist.localWorldSize], [index, 2, 0, 1]);
    assert.equal(dist.masterAddr, 's-decode-3-0.s-pods.team.svc');
  }
});
