import { test } from 'node:test';
import assert from 'node:assert/strict';
import { podPhase, podStatus, type ContainerRecord } from '../../cluster/runner/pod-status.js';

const t = new Date('2026-01-01T00:00:00Z');
const running = (name: string): ContainerRecord => ({ name, image: '', init: false, restartCount: 0, state: { kind: 'running', pid: 10, startedAt: t } });
const exited = (name: string, exitCode: number, restartCount = 0): ContainerRecord => ({
  name, image: '', init: false, restartCount, state: { kind: 'terminated', exitCode, reason: exitCode ? 'Error' : 'Completed', startedAt: t, finishedAt: t },
});

const cases: Array<[string, ContainerRecord[], string, string]> = [
  ['one running container makes the pod Running', [running('a'), exited('b', 0)], 'Never', 'Running'],
  ['all exited 0 under Never is Succeeded', [exited('a', 0), exited('b', 0)], 'Never', 'Succeeded'],
  ['any non-zero exit under Never is Failed', [exited('a', 0), exited('b', 3)], 'Never', 'Failed'],
  ['a failure under OnFailure keeps the pod Running (it restarts)', [exited('a', 1, 2)], 'OnFailure', 'Running'],
  ['success under OnFailure is Succeeded', [exited('a', 0)], 'OnFailure', 'Succeeded'],
  ['anything under Always is Running once started', [exited('a', 0)], 'Always', 'Running'],
];
for (const [name, containers, policy, want] of cases) {
  test(name, () => assert.equal(podPhase(containers, true, false, policy), want));
}

test('init containers not done keep the pod Pending; a failed init fails it', () => {
  assert.equal(podPhase([running('a')], false, false, 'Never'), 'Pending');
  assert.equal(podPhase([running('a')], false, true, 'Never'), 'Failed');
});

test('status carries Ready only when every container runs, and the exit code of a terminated one', () => {
  const s = podStatus({ containers: [running('a'), exited('b', 7)], initDone: true, initFailed: false, restartPolicy: 'Never',
    podIP: '127.1.0.2', hostIP: '127.0.0.1', startTime: t }, t);
  assert.equal(s.conditions?.find((c) => c.type === 'Ready')?.status, 'False');
  assert.equal(s.containerStatuses?.find((c) => c.name === 'b')?.state?.terminated?.exitCode, 7);
  assert.equal(s.podIP, '127.1.0.2');
});
