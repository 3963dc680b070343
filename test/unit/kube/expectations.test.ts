// Expectations (client-go's ControllerExpectations by name) and mapLimit: the bookkeeping both reconcilers share.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mapLimit } from '../../../operator/kube/concurrency.js';
import { CACHE_LAG_MS, Expectations } from '../../../operator/kube/expectations.js';

/** Expectations on a clock the test moves. */
function clocked<D = undefined>() {
  const t = { now: 1_000_000 };
  return { t, e: new Expectations<D>(CACHE_LAG_MS, () => t.now) };
}

describe('Expectations', () => {
  test('a creation is pending until the cache shows it, or until the TTL has passed', () => {
    const { t, e } = clocked();
    e.expectCreation('d', 'p0');
    e.expectCreation('d', 'p1');
    assert.equal(e.creationPending('d', 'p0'), true);
    assert.equal(e.satisfied('d'), false);
    e.observe('d', ['p0']);
    assert.equal(e.creationPending('d', 'p0'), false);
    assert.equal(e.creationPending('d', 'p1'), true);
    assert.deepEqual(e.pendingOf('d'), { creating: new Set(['p1']), deleting: new Set() });
    t.now += CACHE_LAG_MS - 1;
    assert.equal(e.creationPending('d', 'p1'), true);
    t.now += 1;
    assert.equal(e.creationPending('d', 'p1'), false, 'the cache would have shown it by now: missing');
    assert.equal(e.satisfied('d'), true);
  });

  test('a pod seen, then gone, is missing at once; created again under its name, it is on its way again', () => {
    const { e } = clocked();
    e.expectCreation('d', 'p0');
    e.observe('d', ['p0']);
    e.observe('d', []);
    assert.equal(e.creationPending('d', 'p0'), false);
    e.expectCreation('d', 'p0');
    assert.equal(e.creationPending('d', 'p0'), true);
  });

  test('a deletion is expected while the cache still shows the pod, and for the TTL after it is gone', () => {
    const { t, e } = clocked();
    e.expectCreation('d', 'p0');
    e.expectDeletion('d', 'p0');
    assert.equal(e.creationPending('d', 'p0'), false, 'a deletion replaces the creation');
    assert.equal(e.deletionExpected('d', 'p0'), true);
    t.now += 2 * CACHE_LAG_MS;
    e.observe('d', ['p0']);
    assert.equal(e.deletionExpected('d', 'p0'), true, 'still terminating');
    assert.equal(e.satisfied('d'), true, 'past the TTL');
    e.observe('d', []);
    assert.equal(e.deletionExpected('d', 'p0'), false, 'gone after the TTL: forgotten');
    e.expectDeletion('d', 'p1');
    e.observe('d', []);
    assert.equal(e.deletionExpected('d', 'p1'), true, 'gone within the TTL: still ours');
    assert.equal(e.satisfied('d'), true, 'observed gone');
  });

  test('one ledger per epoch: a new release expects every pod afresh, from the release time', () => {
    const { t, e } = clocked();
    e.expectCreations('job', ['j-0', 'j-1'], '0@t1', t.now);
    e.observe('job', ['j-0', 'j-1']);
    assert.equal(e.holds('job', '0@t1'), true);
    assert.equal(e.holds('job', '1@t2'), false);
    e.expectCreations('job', ['j-0', 'j-1'], '1@t2', t.now - CACHE_LAG_MS + 10);
    assert.equal(e.creationPending('job', 'j-0'), true, 'the old attempt\'s pods were other pods');
    t.now += 10;
    assert.equal(e.creationPending('job', 'j-0'), false, 'released a cache lag ago');
    e.forget('job');
    assert.equal(e.holds('job', '1@t2'), false);
  });

  test('in flight: creations of every owner the cache does not show, within the TTL, with their data; old absent ones dropped', () => {
    const { t, e } = clocked<{ node: string }>();
    e.expectCreation('a', 'a0', { node: 'n0' });
    e.expectCreation('b', 'b0', { node: 'n1' });
    e.expectCreation('b', 'b1', { node: 'n2' });
    e.expectDeletion('b', 'b2');
    assert.deepEqual(e.inFlight((c) => c === 'b1'), [{ node: 'n0' }, { node: 'n1' }]);
    t.now += CACHE_LAG_MS;
    assert.deepEqual(e.inFlight((c) => c === 'b1'), []);
    assert.equal(e.pendingOf('a').creating.size + e.pendingOf('b').creating.size, 0);
  });
});

test('mapLimit runs every item with at most `limit` calls in flight', async () => {
  let inFlight = 0;
  let most = 0;
  const done: number[] = [];
  await mapLimit([1, 2, 3, 4, 5, 6, 7], 3, async (x) => {
    most = Math.max(most, ++inFlight);
    await new Promise((r) => setTimeout(r, 5 - (x % 3)));
    done.push(x);
    inFlight--;
  });
  assert.deepEqual(done.sort(), [1, 2, 3, 4, 5, 6, 7]);
  assert.equal(most, 3);
  await assert.rejects(mapLimit([1, 2], 2, async (x) => { if (x === 2) throw new Error('two'); }), /two/);
});
