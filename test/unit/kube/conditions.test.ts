import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setCondition, isTrue, removeCondition } from '../../../operator/kube/conditions.js';

const t0 = new Date('2026-01-01T00:00:00.000Z');
const t1 = new Date('2026-01-01T00:05:00.000Z');

test('a new condition is added, stamped, and reported as a change', () => {
  const r = setCondition(undefined, { type: 'Valid', status: 'True', reason: 'SpecValid', message: '', observedGeneration: 1 }, t0);
  assert.equal(r.changed, true);
  assert.deepEqual(r.conditions, [{ type: 'Valid', status: 'True', reason: 'SpecValid', message: '', observedGeneration: 1, lastTransitionTime: '2026-01-01T00:00:00Z' }]);
});

test('setting the same condition again is no change and keeps the time', () => {
  const a = setCondition(undefined, { type: 'Valid', status: 'True', reason: 'R', message: 'm' }, t0).conditions;
  const r = setCondition(a, { type: 'Valid', status: 'True', reason: 'R', message: 'm' }, t1);
  assert.equal(r.changed, false);
  assert.equal(r.conditions[0]!.lastTransitionTime, '2026-01-01T00:00:00Z');
});

test('a new reason without a status flip changes the condition but keeps lastTransitionTime', () => {
  const a = setCondition(undefined, { type: 'Running', status: 'False', reason: 'WaitingForPods', message: '' }, t0).conditions;
  const r = setCondition(a, { type: 'Running', status: 'False', reason: 'PodsStarting', message: '' }, t1);
  assert.equal(r.changed, true);
  assert.equal(r.conditions[0]!.reason, 'PodsStarting');
  assert.equal(r.conditions[0]!.lastTransitionTime, '2026-01-01T00:00:00Z');
});

test('a status flip moves lastTransitionTime; a new observedGeneration is a change', () => {
  const a = setCondition(undefined, { type: 'Running', status: 'False', reason: 'X', message: '', observedGeneration: 1 }, t0).conditions;
  const b = setCondition(a, { type: 'Running', status: 'True', reason: 'X', message: '', observedGeneration: 1 }, t1);
  assert.equal(b.conditions[0]!.lastTransitionTime, '2026-01-01T00:05:00Z');
  assert.ok(isTrue(b.conditions, 'Running'));
  const c = setCondition(b.conditions, { type: 'Running', status: 'True', reason: 'X', message: '', observedGeneration: 2 }, t1);
  assert.equal(c.changed, true);
});

test('the input list is never mutated; remove reports whether it removed', () => {
  const a = setCondition(undefined, { type: 'A', status: 'True', reason: 'R', message: '' }, t0).conditions;
  const frozen = structuredClone(a);
  setCondition(a, { type: 'A', status: 'False', reason: 'R', message: '' }, t1);
  assert.deepEqual(a, frozen);
  assert.equal(removeCondition(a, 'A').changed, true);
  assert.equal(removeCondition(a, 'B').changed, false);
});
