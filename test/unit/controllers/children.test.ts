// Writing children (issue 19 items 12 and 14): who owns an existing object, which refusals become a condition with
// backoff, the backoff itself, the name rule, and the conditions/events the status builders make of them.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ChildWriteError, NameConflictError, WriteBackoff, childWriteError, ownershipOf, writeBackoffMs, writeFailureOf, type Owner } from '../../../operator/controllers/children.js';
import { InfdStatusBuilder } from '../../../operator/controllers/infd/status.js';
import { validateDeployment } from '../../../operator/controllers/infd/validate.js';
import { StatusBuilder } from '../../../operator/controllers/mtj/status.js';
import { validateJob } from '../../../operator/controllers/mtj/validate.js';
import { dnsLabelError } from '../../../operator/controllers/names.js';
import { ApiError } from '../../../operator/kube/rest.js';
import { makeJob } from './fixtures.js';
import { makeDeployment } from './infd-fixtures.js';

const NOW = new Date('2026-01-01T00:00:00Z');
const OWNER: Owner = { kind: 'MoETrainingJob', name: 'victim', uid: 'u1' };
const ref = (o: Partial<{ kind: string; name: string; uid: string; controller: boolean }>) => ({ apiVersion: 'moe.io/v1alpha1', kind: 'MoETrainingJob', name: 'victim', uid: 'u1', controller: true, ...o });
const obj = (refs?: ReturnType<typeof ref>[]) => ({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'victim-reporter', namespace: 'team', ...(refs ? { ownerReferences: refs } : {}) } });

describe('ownership of an existing object', () => {
  const cases: Array<[string, ReturnType<typeof obj>, string]> = [
    ['a user object without owner references is someone else\'s', obj(), 'foreign'],
    ['our controller reference (same UID) is ours', obj([ref({})]), 'ours'],
    ['our UID without controller: true is not adopted', obj([ref({ controller: false })]), 'foreign'],
    ['another controller is someone else\'s', obj([ref({ kind: 'Deployment', name: 'web', uid: 'u9' })]), 'foreign'],
    ['an earlier job of the same name (other UID) is stale: wait for the garbage collector', obj([ref({ uid: 'u0' })]), 'stale'],
  ];
  for (const [name, o, want] of cases) test(name, () => assert.equal(ownershipOf(o, OWNER).state, want));

  test('the message names the object and says it is left untouched', () => {
    const o = ownershipOf(obj(), OWNER);
    assert.equal(o.state, 'foreign');
    assert.match((o as { message: string }).message, /^Role team\/victim-reporter already exists .*left untouched/);
  });
});

describe('which failed writes become a condition', () => {
  const api = (code: number, message: string) => childWriteError('create', { kind: 'Pod', metadata: { name: 'j-0', namespace: 'team' } }, new ApiError(code, '', `POST: ${code}`, { message }));

  test('a NameConflict is a condition with that reason; a stale one is transient', () => {
    assert.deepEqual(writeFailureOf(new NameConflictError('Role x', false, 'm')), { condition: 'NameConflict', reason: 'NameConflict', message: 'm', transient: false });
    assert.equal(writeFailureOf(new NameConflictError('Role x', true, 'm'))?.transient, true);
  });

  test('invalid (422), forbidden (403, Pod Security) and bad request (400, unknown field) are persistent: FailedCreate with the API message', () => {
    const f = writeFailureOf(api(403, 'pods "j-0" is forbidden: violates PodSecurity "restricted:latest": privileged'));
    assert.equal(f?.condition, 'WriteFailed');
    assert.equal(f?.reason, 'FailedCreate');
    assert.equal(f?.message, 'create Pod team/j-0: pods "j-0" is forbidden: violates PodSecurity "restricted:latest": privileged');
    assert.equal(writeFailureOf(api(422, 'spec.nodeName: Forbidden: cannot be set until all schedulingGates have been cleared'))?.reason, 'FailedCreate');
    assert.equal(writeFailureOf(api(400, 'strict decoding error: unknown field "spec.containers[0].comand"'))?.reason, 'FailedCreate');
  });

  test('conflicts, throttling, server errors and plain errors stay with the work queue', () => {
    for (const code of [404, 409, 429, 500, 503]) assert.equal(writeFailureOf(api(code, 'x')), undefined, String(code));
    assert.equal(writeFailureOf(new Error('socket hang up')), undefined);
    assert.ok(api(500, 'x') instanceof ChildWriteError);
  });
});

describe('write backoff', () => {
  test('5 s doubling to 5 min', () => {
    assert.deepEqual([1, 2, 3, 4, 7, 8, 50].map(writeBackoffMs), [5000, 10000, 20000, 40000, 300000, 300000, 300000]);
  });

  test('failures grow the wait; a new generation or a success clears it; a stale conflict retries in 2 s', () => {
    const b = new WriteBackoff();
    const f = { condition: 'WriteFailed' as const, reason: 'FailedCreate', message: '', transient: false };
    assert.equal(b.wait('u', 1, 0), 0);
    assert.equal(b.failed('u', 1, 0, f), 5000);
    assert.equal(b.wait('u', 1, 1000), 4000);
    assert.equal(b.failed('u', 1, 5000, f), 10000);
    assert.equal(b.wait('u', 2, 6000), 0, 'the user changed the spec');
    assert.equal(b.failed('u', 2, 6000, f), 5000, 'count restarts with the new generation');
    assert.equal(b.failing('u'), true);
    b.succeeded('u');
    assert.equal(b.failing('u'), false);
    assert.equal(b.wait('u', 2, 6001), 0);
    assert.equal(b.failed('u', 2, 0, { ...f, transient: true }), 2000);
  });
});

describe('names are DNS labels', () => {
  test('dots, capitals and a leading digit are refused with the field and a fix', () => {
    for (const n of ['a.b', 'Job', '1job', 'a_b', 'a-']) assert.match(dnsLabelError(n, 'why') ?? '', /^metadata.name: .* is not a DNS label/, n);
    for (const n of ['a', 'job-1', 'deepseek-v3']) assert.equal(dnsLabelError(n, 'why'), undefined, n);
    assert.match(dnsLabelError('my.job', 'why')!, /"my-job"/);
  });

  test('both kinds report it in validation (the backstop of the CRDs\' CEL rule)', () => {
    assert.ok(validateJob(makeJob('tiny.v1').obj()).some((e) => e.startsWith('metadata.name: "tiny.v1" is not a DNS label')));
    assert.ok(validateDeployment(makeDeployment('serve.v1').obj()).some((e) => e.startsWith('metadata.name: "serve.v1" is not a DNS label')));
  });
});

describe('status of failed writes', () => {
  const failure = { condition: 'WriteFailed' as const, reason: 'FailedCreate', message: 'create Pod team/j-0: forbidden', transient: false };

  test('MoETrainingJob: WriteFailed=True, phase Pending, one warning; the same failure again adds no event; success clears it', () => {
    const st = new StatusBuilder(makeJob('j').obj(), NOW);
    st.writeFailed(failure);
    assert.equal(st.status.phase, 'Pending');
    const c = st.status.conditions?.find((x) => x.type === 'WriteFailed');
    assert.deepEqual([c?.status, c?.reason, c?.message], ['True', 'FailedCreate', 'create Pod team/j-0: forbidden']);
    assert.deepEqual(st.events, [{ type: 'Warning', reason: 'FailedCreate', message: 'create Pod team/j-0: forbidden' }]);
    const again = new StatusBuilder({ ...makeJob('j').obj(), status: st.status }, NOW);
    again.writeFailed(failure);
    assert.equal(again.events.length, 0);
    again.writesSucceeded();
    assert.equal(again.status.conditions?.find((x) => x.type === 'WriteFailed')?.status, 'False');
    assert.deepEqual(again.events.map((e) => e.reason), ['ChildrenWritten']);
  });

  test('InferenceDeployment: NameConflict=True and Degraded=True with the reason, phase Degraded', () => {
    const st = new InfdStatusBuilder(makeDeployment('s').obj(), NOW);
    st.writeFailed({ condition: 'NameConflict', reason: 'NameConflict', message: 'Pod team/s-decode-0-0 already exists', transient: false });
    assert.equal(st.status.phase, 'Degraded');
    assert.equal(st.status.conditions?.find((x) => x.type === 'NameConflict')?.status, 'True');
    assert.equal(st.status.conditions?.find((x) => x.type === 'Degraded')?.reason, 'NameConflict');
    assert.deepEqual(st.events.map((e) => e.reason), ['NameConflict']);
  });

  test('a stale child (garbage collection pending) sets the condition without a warning', () => {
    const st = new StatusBuilder(makeJob('j').obj(), NOW);
    st.writeFailed({ condition: 'NameConflict', reason: 'WaitingForGarbageCollection', message: 'm', transient: true });
    assert.equal(st.status.conditions?.find((x) => x.type === 'NameConflict')?.reason, 'WaitingForGarbageCollection');
    assert.deepEqual(st.events, []);
  });
});
