// The GangReleased event names each node once: two pods of a decode replica on one runner node read
// "runner-0 (2 pods)", not "runner-0, runner-0".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gangReleasedMessage } from '../../../operator/controllers/infd/gangs.js';

test('two pods on one node: the node is named once with its pod count', () => {
  assert.equal(gangReleasedMessage('decode', 0, ['runner-0', 'runner-0'], ['runner']), 'decode replica 0: 2 pod(s) released together on runner-0 (2 pods) (leaf runner)');
});

test('pods on several nodes keep the placement order; one pod per node reads as a plain list', () => {
  assert.equal(
    gangReleasedMessage('prefill', 3, ['n1', 'n2', 'n1', 'n3'], ['l0', 'l0', 'l1']),
    'prefill replica 3: 4 pod(s) released together on n1 (2 pods), n2, n3 (leaf l0, l1)',
  );
  assert.equal(gangReleasedMessage('decode', 1, ['a', 'b'], ['l0']), 'decode replica 1: 2 pod(s) released together on a, b (leaf l0)');
});
