import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Pod } from '@kubernetes/client-node';
import { BIND_TIMEOUT_REASON, gangStart, placementShort, stuckPods } from '../../../operator/controllers/mtj/gang-start.js';

const pod = (spec: V1Pod['spec'], status?: V1Pod['status'], deleting = false): V1Pod => ({
  metadata: { name: 'p', ...(deleting ? { deletionTimestamp: new Date(0) } : {}) },
  spec: { containers: [], ...spec },
  ...(status ? { status } : {}),
});
const facts = { queued: false, current: [], short: [], refused: false };

test('gangStart: ungated only outside Kueue, on the default scheduler, with verified room and no earlier bind timeout', () => {
  assert.deepEqual(gangStart(facts), { gated: false, why: 'room verified on every planned node' });
  assert.equal(gangStart({ ...facts, queued: true }).gated, true);
  assert.equal(gangStart({ ...facts, schedulerName: 'volcano' }).gated, true);
  assert.equal(gangStart({ ...facts, schedulerName: 'default-scheduler' }).gated, false);
  assert.equal(gangStart({ ...facts, lastFailureReason: BIND_TIMEOUT_REASON }).gated, true);
  assert.equal(gangStart({ ...facts, lastFailureReason: 'Error' }).gated, false);
  assert.deepEqual(gangStart({ ...facts, short: ['n1'] }), { gated: true, why: 'no verified room on n1' });
  assert.equal(gangStart({ ...facts, refused: true }).gated, true);
});

test('gangStart: pods of the attempt that exist keep their way (an operator restarted half-way continues it)', () => {
  const ours = pod({ containers: [], schedulingGates: [{ name: 'moe.io/gang' }] });
  const bare = pod({ containers: [] });
  assert.equal(gangStart({ ...facts, current: [bare] }).gated, false);
  assert.equal(gangStart({ ...facts, current: [ours], short: [] }).gated, true);
  // An ungated creation half-way is continued ungated even where a fresh start would now be gated.
  assert.equal(gangStart({ ...facts, current: [bare], short: ['n1'], lastFailureReason: BIND_TIMEOUT_REASON }).gated, false);
  // Pods being deleted say nothing; a refused ungated attempt goes gated whatever is left of it.
  assert.equal(gangStart({ ...facts, current: [pod({ containers: [] }, undefined, true)], short: ['n1'] }).gated, true);
  assert.equal(gangStart({ ...facts, current: [bare], refused: true }).gated, true);
});

test('placementShort: nodes whose free GPUs are below what the placement puts there', () => {
  const placement = [{ node: 'a' }, { node: 'a' }, { node: 'b' }, { node: 'c' }];
  const alloc = new Map([['a', 8], ['b', 8], ['c', 8]]);
  // 4 GPUs per pod: a needs 8 (free 8), b needs 4 (free 2), c needs 4 (free 4); d is not a node at all.
  assert.deepEqual(placementShort(placement, 4, alloc, new Map([['b', 6], ['c', 4]])), ['b']);
  assert.deepEqual(placementShort([{ node: 'd' }], 1, alloc, new Map()), ['d']);
  assert.deepEqual(placementShort(placement, 4, alloc, new Map()), []);
});

test('stuckPods: unbound, ungated, not deleting, and called Unschedulable by the scheduler', () => {
  const unsched = { conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available' }] };
  const stuck = pod({ containers: [] }, unsched);
  assert.deepEqual(stuckPods([stuck]), [stuck]);
  assert.deepEqual(stuckPods([pod({ containers: [], nodeName: 'n' }, unsched)]), [], 'bound');
  assert.deepEqual(stuckPods([pod({ containers: [] })]), [], 'not tried yet (a slow scheduler is no reason)');
  assert.deepEqual(stuckPods([pod({ containers: [], schedulingGates: [{ name: 'moe.io/gang' }] }, unsched)]), [], 'still gated');
  assert.deepEqual(stuckPods([pod({ containers: [] }, unsched, true)]), [], 'being deleted');
});
