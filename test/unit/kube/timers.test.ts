import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_TIMER_MS, clampTimerMs } from '../../../operator/kube/timers.js';
import { WorkQueue, type Timers } from '../../../operator/kube/workqueue.js';

const DAY = 86_400_000;

test('clampTimerMs keeps delays inside the 32-bit limit setTimeout honours', () => {
  assert.equal(MAX_TIMER_MS, 2_147_483_647);
  assert.equal(clampTimerMs(1500), 1500);
  assert.equal(clampTimerMs(-5), 0);
  assert.equal(clampTimerMs(30 * DAY), MAX_TIMER_MS, 'a 30-day restart backoff');
  assert.equal(clampTimerMs(Infinity), MAX_TIMER_MS);
  assert.equal(clampTimerMs(NaN), MAX_TIMER_MS, 'never a hot loop');
});

test('a 30-day requeue waits (at the timer limit) instead of firing after 1 ms', async () => {
  // The real timers: an unclamped 2.6e9 ms setTimeout fires after 1 ms (TimeoutOverflowWarning).
  const q = new WorkQueue();
  q.addAfter('ns/job', 30 * DAY);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(q.len(), 0, 'the key must not be queued yet');
  q.shutDown();
});

test('the work queue hands its timers a clamped delay', () => {
  const asked: number[] = [];
  const timers: Timers = { now: () => 0, setTimeout: (_fn, ms) => (asked.push(ms), 1), clearTimeout: () => undefined };
  const q = new WorkQueue({ timers });
  q.addAfter('a', 30 * DAY);
  q.addAfter('b', 2000);
  assert.deepEqual(asked, [MAX_TIMER_MS, 2000]);
  q.shutDown();
});
