import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decide, leaderIdentity, microTime } from '../../../operator/kube/leader.js';

const now = new Date('2026-01-01T00:00:30.000Z');

test('no lease: create it as holder', () => {
  const r = decide(undefined, 'a', now, 15);
  assert.equal(r.action, 'create');
  assert.equal(r.spec.holderIdentity, 'a');
  assert.equal(r.spec.renewTime, '2026-01-01T00:00:30.000000Z');
});

test('the holder renews and keeps its acquire time', () => {
  const r = decide({ holderIdentity: 'a', renewTime: '2026-01-01T00:00:25.000000Z', acquireTime: 'T0', leaseDurationSeconds: 15, leaseTransitions: 2 }, 'a', now, 15);
  assert.equal(r.action, 'renew');
  assert.equal(r.spec.acquireTime, 'T0');
  assert.equal(r.spec.leaseTransitions, 2);
});

test('another candidate waits while the lease is fresh', () => {
  assert.equal(decide({ holderIdentity: 'a', renewTime: '2026-01-01T00:00:20.000000Z', leaseDurationSeconds: 15 }, 'b', now, 15).action, 'wait');
});

test('another candidate takes over an expired or released lease and counts the transition', () => {
  const r = decide({ holderIdentity: 'a', renewTime: '2026-01-01T00:00:14.000000Z', leaseDurationSeconds: 15, leaseTransitions: 4 }, 'b', now, 15);
  assert.equal(r.action, 'takeover');
  assert.equal(r.spec.holderIdentity, 'b');
  assert.equal(r.spec.leaseTransitions, 5);
  assert.equal(decide({ holderIdentity: '', renewTime: '2026-01-01T00:00:29.000000Z', leaseDurationSeconds: 15 }, 'b', now, 15).action, 'takeover');
});

test('microTime writes six fractional digits', () => {
  assert.equal(microTime(new Date('2026-02-03T04:05:06.789Z')), '2026-02-03T04:05:06.789000Z');
});

test('a restarted container takes its own predecessor’s lease at once; other pods still wait for expiry', () => {
  const fresh = { holderIdentity: 'op-0_uid-1_aaaa', renewTime: '2026-01-01T00:00:29.000000Z', leaseDurationSeconds: 15, leaseTransitions: 1 };
  const r = decide(fresh, 'op-0_uid-1_bbbb', now, 15, 'op-0_uid-1');
  assert.equal(r.action, 'takeover');
  assert.equal(r.spec.holderIdentity, 'op-0_uid-1_bbbb');
  assert.equal(r.spec.leaseTransitions, 2);
  // Another pod, or a new pod of the same name (another uid), or no pod identity known: wait.
  assert.equal(decide(fresh, 'op-1_uid-2_cccc', now, 15, 'op-1_uid-2').action, 'wait');
  assert.equal(decide(fresh, 'op-0_uid-9_cccc', now, 15, 'op-0_uid-9').action, 'wait');
  assert.equal(decide(fresh, 'op-0_uid-1_bbbb', now, 15).action, 'wait');
  // A pod prefix that is not this identity's own is ignored.
  assert.equal(decide(fresh, 'op-7_bbbb', now, 15, 'op-0_uid-1').action, 'wait');
});

test('leaderIdentity: pod name and uid when both are set, else HOSTNAME without a pod', () => {
  assert.deepEqual(leaderIdentity({ POD_NAME: 'moe-operator-5d9f', POD_UID: 'u-1', HOSTNAME: 'h' }, 'ab12'), { identity: 'moe-operator-5d9f_u-1_ab12', pod: 'moe-operator-5d9f_u-1' });
  assert.deepEqual(leaderIdentity({ POD_NAME: 'moe-operator-5d9f', HOSTNAME: 'h' }, 'ab12'), { identity: 'h_ab12' });
  assert.deepEqual(leaderIdentity({}, 'ab12'), { identity: 'moe-operator_ab12' });
});
