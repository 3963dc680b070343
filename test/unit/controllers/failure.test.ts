import { test } from 'node:test';
import assert from 'node:assert/strict';
import { budgetLeft, decideFailure, podFailure, restartBackoffSeconds } from '../../../operator/controllers/mtj/failure.js';

const failedPod = (exitCode: number, reason = 'Error', node = 'n1') => ({
  metadata: { name: 'a-1' },
  spec: { nodeName: node, containers: [{ name: 'trainer' }] },
  status: { phase: 'Failed', containerStatuses: [{ name: 'trainer', state: { terminated: { exitCode, reason } } }] },
});

test('a failed pod yields its trainer exit code, reason and node; a running pod yields nothing', () => {
  assert.deepEqual(podFailure(failedPod(137, 'OOMKilled') as any), { pod: 'a-1', reason: 'OOMKilled', exitCode: 137, node: 'n1' });
  assert.equal(podFailure({ metadata: { name: 'x' }, status: { phase: 'Running' } } as any), undefined);
  assert.deepEqual(podFailure({ metadata: { name: 'x' }, spec: { containers: [] }, status: { phase: 'Failed', reason: 'Evicted' } } as any), { pod: 'x', reason: 'Evicted' });
});

test('with no rules a failure restarts the whole gang and spends the budget', () => {
  const d = decideFailure(undefined, { pod: 'a-1', reason: 'Error', exitCode: 1, node: 'n1' });
  assert.equal(d.action, 'RestartGang');
  assert.equal(d.counts, true);
  assert.equal(d.excludeNode, undefined);
});

test('the first matching rule decides: exit codes and reasons', () => {
  const policy = {
    rules: [
      { action: 'FailJob' as const, onExitCodes: [2] },
      { action: 'RestartGangExcludeNode' as const, onReasons: ['OOMKilled'] },
      { action: 'Ignore' as const, onExitCodes: [143, 2] },
    ],
  };
  assert.equal(decideFailure(policy, { pod: 'p', reason: 'Error', exitCode: 2 }).action, 'FailJob');
  const oom = decideFailure(policy, { pod: 'p', reason: 'OOMKilled', exitCode: 137, node: 'n9' });
  assert.equal(oom.action, 'RestartGangExcludeNode');
  assert.equal(oom.excludeNode, 'n9');
  const ign = decideFailure(policy, { pod: 'p', reason: 'Error', exitCode: 143 });
  assert.deepEqual([ign.action, ign.counts], ['Ignore', false]);
});

test('node-level reasons avoid the node even without a rule', () => {
  assert.equal(decideFailure(undefined, { pod: 'p', reason: 'NodeLost', node: 'n3' }).excludeNode, 'n3');
});

test('backoff doubles per restart from initialSeconds and stops at maxSeconds', () => {
  const p = { backoff: { initialSeconds: 10, maxSeconds: 60 } };
  assert.deepEqual([1, 2, 3, 4, 5].map((n) => restartBackoffSeconds(p, n)), [10, 20, 40, 60, 60]);
  assert.equal(restartBackoffSeconds({ backoff: { initialSeconds: 0, maxSeconds: 0 } }, 3), 0);
});

test('the budget allows exactly maxRestarts counted restarts', () => {
  assert.deepEqual([0, 1, 2].map((r) => budgetLeft({ maxRestarts: 2 }, r)), [true, true, false]);
  assert.equal(budgetLeft({ maxRestarts: 0 }, 0), false);
});
