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

/** Hands out the next key and marks it done. */
const take = async (q: WorkQueue): Promise<string | undefined> => {
  const k = await q.get();
  if (k !== undefined) q.done(k);
  return k;
};

test('the soon lane goes first, a plain key waiting is moved there, and plain keys still get every fifth turn', async () => {
  const q = new WorkQueue();
  for (const k of ['p1', 'p2', 'p3']) q.add(k);
  q.add('s1', true);
  q.add('p2', true); // waiting in the plain lane: moves to the soon lane, not queued twice
  assert.equal(q.len(), 4);
  assert.deepEqual([await take(q), await take(q), await take(q), await take(q)], ['s1', 'p2', 'p1', 'p3']);
  for (const k of ['a', 'b']) q.add(k);
  for (const k of ['s1', 's2', 's3', 's4', 's5', 's6']) q.add(k, true);
  const order: Array<string | undefined> = [];
  for (let i = 0; i < 8; i++) order.push(await take(q));
  assert.deepEqual(order, ['s1', 's2', 's3', 's4', 'a', 's5', 's6', 'b']);
});

test('a key added soon while it is processed comes back in the soon lane; addAfter keeps soon when the times merge', async () => {
  const { timers, advance } = fakeTimers();
  const q = new WorkQueue({ timers });
  q.add('x');
  assert.equal(await q.get(), 'x');
  q.add('x', true);
  q.add('p');
  q.done('x');
  assert.equal(await take(q), 'x', 'the soon lane before the plain key added earlier');
  assert.equal(await take(q), 'p');
  q.addAfter('y', 100, true);
  q.addAfter('y', 50); // earlier: wins, and stays soon
  q.add('z');
  advance(50);
  assert.equal(await take(q), 'y');
  assert.equal(await take(q), 'z');
});
