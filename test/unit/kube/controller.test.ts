import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Controller, TerminalError } from '../../../operator/kube/controller.js';

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

test('one key is never reconciled by two workers at once', async () => {
  let inFlight = 0;
  let maxInFlight = 0;
  let runs = 0;
  const c = new Controller({ name: 't', workers: 4 }, async () => {
    inFlight++;
    runs++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await tick(10);
    inFlight--;
  });
  c.start();
  for (let i = 0; i < 20; i++) {
    c.queue.add('ns/a');
    await tick(1);
  }
  await tick(60);
  await c.stop();
  assert.equal(maxInFlight, 1);
  assert.ok(runs >= 2 && runs < 20, `adds during a reconcile collapse into one rerun, got ${runs} runs`);
});

test('errors retry with backoff, terminal errors do not, success forgets', async () => {
  const outcomes: string[] = [];
  let calls = 0;
  const c = new Controller(
    { name: 't', workers: 1, baseDelayMs: 5, maxDelayMs: 20, hooks: { onResult: (_k, o) => outcomes.push(o) } },
    async (key) => {
      calls++;
      if (key === 'bad') throw new TerminalError('spec is wrong');
      if (calls < 3) throw new Error('transient');
    },
  );
  c.start();
  c.queue.add('flaky');
  await tick(100);
  assert.deepEqual(outcomes, ['error', 'error', 'success']);
  assert.equal(c.queue.failuresOf('flaky'), 0);
  c.queue.add('bad');
  await tick(50);
  await c.stop();
  assert.deepEqual(outcomes.slice(3), ['terminal']);
});

test('a reconcile past its deadline is aborted and retried, and the key stays exclusive until it ends', async () => {
  const outcomes: string[] = [];
  let aborted = false;
  let first = true;
  const c = new Controller({ name: 't', workers: 2, timeoutMs: 20, baseDelayMs: 5, hooks: { onResult: (_k, o) => outcomes.push(o) } }, (_key, signal) => {
    if (!first) return Promise.resolve();
    first = false;
    return new Promise<void>((_, reject) => signal.addEventListener('abort', () => ((aborted = true), reject(signal.reason))));
  });
  c.start();
  c.queue.add('slow');
  await tick(120);
  await c.stop();
  assert.ok(aborted);
  assert.deepEqual(outcomes, ['timeout', 'success']);
});

test('requeueAfterMs brings the key back', async () => {
  let calls = 0;
  const c = new Controller({ name: 't', workers: 1 }, async () => (++calls === 1 ? { requeueAfterMs: 10 } : undefined));
  c.start();
  c.queue.add('k');
  await tick(60);
  await c.stop();
  assert.equal(calls, 2);
});
