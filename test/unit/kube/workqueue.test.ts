import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkQueue, backoffDelay, type Timers } from '../../../operator/kube/workqueue.js';

/** Manual clock: timers fire only when advance() passes them. */
function fakeTimers() {
  let now = 0;
  let seq = 0;
  const pending = new Map<number, { at: number; fn: () => void }>();
  const timers: Timers = {
    now: () => now,
    setTimeout: (fn, ms) => {
      const id = ++seq;
      pending.set(id, { at: now + ms, fn });
      return id;
    },
    clearTimeout: (h) => void pending.delete(h as number),
  };
  const advance = (ms: number) => {
    now += ms;
    for (const [id, t] of [...pending].sort((a, b) => a[1].at - b[1].at)) {
      if (t.at <= now) {
        pending.delete(id);
        t.fn();
      }
    }
  };
  return { timers, advance, pending };
}

test('backoff doubles from the base and stops at the cap', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, 10, 100)), [10, 20, 40, 80, 100, 100]);
  assert.equal(backoffDelay(0, 10, 100), 0);
  assert.equal(backoffDelay(10_000, 10, 100), 100);
});

test('a key added twice while waiting is handed out once', async () => {
  const q = new WorkQueue();
  q.add('a');
  q.add('a');
  q.add('b');
  assert.equal(q.len(), 2);
  assert.equal(await q.get(), 'a');
  assert.equal(await q.get(), 'b');
  assert.equal(q.len(), 0);
});

test('a key added while it is processed is not handed to a second worker until done', async () => {
  const q = new WorkQueue();
  q.add('a');
  const k = await q.get();
  assert.equal(k, 'a');
  q.add('a');
  assert.equal(q.len(), 0, 'must not be queued while processing');
  let second: string | undefined;
  const waiting = q.get().then((x) => (second = x));
  await new Promise((r) => setImmediate(r));
  assert.equal(second, undefined);
  q.done('a');
  await waiting;
  assert.equal(second, 'a');
});

test('addAfter requeues after the delay and the earliest time wins', () => {
  const { timers, advance } = fakeTimers();
  const q = new WorkQueue({ timers });
  q.addAfter('a', 100);
  q.addAfter('a', 50);
  q.addAfter('a', 500);
  advance(49);
  assert.equal(q.len(), 0);
  advance(1);
  assert.equal(q.len(), 1);
  advance(1000);
  assert.equal(q.len(), 1, 'the superseded timers must not add it again');
});

test('rate-limited retries back off per key and forget resets', () => {
  const { timers } = fakeTimers();
  const q = new WorkQueue({ timers, baseDelayMs: 10, maxDelayMs: 1000 });
  assert.equal(q.addRateLimited('a'), 10);
  assert.equal(q.addRateLimited('a'), 20);
  assert.equal(q.addRateLimited('b'), 10);
  assert.equal(q.addRateLimited('a'), 40);
  q.forget('a');
  assert.equal(q.failuresOf('a'), 0);
  assert.equal(q.addRateLimited('a'), 10);
});

test('shutDown releases waiting workers with undefined', async () => {
  const q = new WorkQueue();
  const p = q.get();
  q.shutDown();
  assert.equal(await p, undefined);
  q.add('x');
  assert.equal(await q.get(), undefined);
});

test('bad options are rejected with the values', () => {
  assert.throws(() => new WorkQueue({ baseDelayMs: 0 }), /baseDelayMs/);
  assert.throws(() => new WorkQueue({ baseDelayMs: 10, maxDelayMs: 5 }), /got 10 and 5/);
});
