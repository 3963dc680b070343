// Serving replicas that fail restart with backoff and a budget (issue 19 item 5): the pure policy, the rollout
// keeping a held replica's index without a stand-in, and the conditions (Degraded with the reason; Available says
// MinimumReplicasAvailable, not AllReplicasReady, while a replica is down).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { holdOf, observeReadiness, recordFailure, restartDelayMs, restartPolicy, STABLE_MS, type ReplicaRestarts } from '../../../operator/controllers/infd/restarts.js';
import { decideRollout } from '../../../operator/controllers/infd/rollout.js';
import { InfdStatusBuilder, type RoleObservation } from '../../../operator/controllers/infd/status.js';
import { makeDeployment } from './infd-fixtures.js';

const NOW = new Date('2026-01-01T00:00:00Z');
const P = { maxRestarts: 3, initialMs: 10_000, maxMs: 40_000 };
const role = (o: Partial<RoleObservation> = {}): RoleObservation => ({ desired: 1, current: 1, ready: 1, updated: 1, revision: 'r', endpoints: [], rolling: false, settling: false, ...o });
const cond = (st: InfdStatusBuilder, t: string) => st.status.conditions?.find((c) => c.type === t);

describe('restart policy of a serving replica', () => {
  test('defaults: 5 restarts in a row, 10 s doubling to 300 s; spec.failurePolicy overrides', () => {
    assert.deepEqual(restartPolicy(makeDeployment('s').obj()), { maxRestarts: 5, initialMs: 10_000, maxMs: 300_000 });
    const d = makeDeployment('s').with((x) => ((x.spec as any).failurePolicy = { maxRestarts: 1, backoff: { initialSeconds: 2, maxSeconds: 4 } })).obj();
    assert.deepEqual(restartPolicy(d), { maxRestarts: 1, initialMs: 2000, maxMs: 4000 });
  });

  test('the first restart is immediate, then 10, 20, 40, 40 s', () => {
    assert.deepEqual([1, 2, 3, 4, 5].map((n) => restartDelayMs(n, P)), [0, 10_000, 20_000, 40_000, 40_000]);
  });

  test('a replica failing at start over and over: backoff between tries, then held down for good after maxRestarts', () => {
    let rec: ReplicaRestarts | undefined;
    let t = 0;
    const log: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = recordFailure(rec, P, t);
      rec = r.next;
      const h = holdOf(rec, P, t);
      log.push(h ? (h.reason === 'RestartBackoff' ? `wait ${h.waitMs}` : 'exhausted') : 'now');
      if (h?.reason === 'RestartBackoff') t += h.waitMs;
    }
    assert.deepEqual(log, ['now', 'wait 10000', 'wait 20000', 'exhausted', 'exhausted', 'exhausted']);
    assert.equal(holdOf(rec, P, t + 3_600_000)?.reason, 'RestartBudgetExhausted', 'no time heals an exhausted budget; a spec change does');
  });

  test('ready for 10 minutes forgets the failures; not ready resets the clock', () => {
    const rec: ReplicaRestarts = { failures: 3, notBefore: 0 };
    const a = observeReadiness(rec, true, 1000)!;
    assert.equal(a.readySince, 1000);
    assert.equal(observeReadiness(a, true, 1000 + STABLE_MS - 1)?.failures, 3);
    assert.equal(observeReadiness(a, true, 1000 + STABLE_MS), undefined);
    assert.equal(observeReadiness(a, false, 5000)?.readySince, undefined);
  });
});

describe('a held replica in the rollout', () => {
  test('keeps its index and gets no stand-in while it waits', () => {
    // decode wants 2; replica 0 ready, replica 1 held (passed in as draining, as the reconciler does).
    const d = decideRollout([
      { role: 'decode', desired: 2, revision: 'r', maxSurge: 1, maxUnavailable: 0, gangs: [{ replica: 0, revision: 'r', ready: true, terminating: false }, { replica: 1, revision: 'r', ready: false, terminating: true }], preferred: [1] },
    ]);
    assert.deepEqual(d.decode!.create, []);
    // Once the hold ends, the replica comes back under its own index.
    const e = decideRollout([{ role: 'decode', desired: 2, revision: 'r', maxSurge: 1, maxUnavailable: 0, gangs: [{ replica: 0, revision: 'r', ready: true, terminating: false }], preferred: [1] }]);
    assert.deepEqual(e.decode!.create, [1]);
  });
});

describe('conditions while a replica is down', () => {
  const observe = (st: InfdStatusBuilder) => {
    st.role('prefill', role());
    st.role('decode', role({ desired: 2, current: 1, ready: 1, updated: 1, settling: true }));
    st.router(1, 1, 'http://s');
  };

  test('decode at 1/2: Available but MinimumReplicasAvailable, not AllReplicasReady', () => {
    const st = new InfdStatusBuilder(makeDeployment('s').obj(), NOW);
    observe(st);
    st.finish();
    assert.equal(cond(st, 'Available')?.status, 'True');
    assert.equal(cond(st, 'Available')?.reason, 'MinimumReplicasAvailable');
  });

  test('backing off: Degraded=True RestartBackoff with the wait; out of budget: RestartBudgetExhausted wins', () => {
    const st = new InfdStatusBuilder(makeDeployment('s').obj(), NOW);
    observe(st);
    st.restartHeld('decode', 1, { reason: 'RestartBackoff', waitMs: 20_000 });
    st.finish();
    assert.equal(st.status.phase, 'Degraded');
    assert.equal(cond(st, 'Degraded')?.reason, 'RestartBackoff');
    assert.match(cond(st, 'Degraded')!.message, /decode replica 1 failed; restarting in 20s/);

    const st2 = new InfdStatusBuilder(makeDeployment('s').obj(), NOW);
    observe(st2);
    st2.replicaFailed('prefill', 0, 'pod s-prefill-0-0 Error', 'restarting now');
    st2.replicaFailed('decode', 1, 'pod s-decode-1-0 Error', 'restart budget used up', true);
    st2.finish();
    assert.equal(cond(st2, 'Degraded')?.reason, 'RestartBudgetExhausted');
    assert.deepEqual(st2.events.map((e) => e.reason).filter((r) => r !== 'Available').sort(), ['ReplicaRestarted', 'RestartBudgetExhausted']);
  });
});
