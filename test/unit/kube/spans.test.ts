import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spans } from '../../../operator/kube/spans.js';

test('spans: nothing is recorded while off; on, durations and mark → seen are', async () => {
  spans.reset();
  spans.end('a', performance.now() - 5);
  spans.mark('k');
  spans.seen('lag', 'k');
  assert.equal(await spans.time('t', async () => 7), 7);
  assert.deepEqual(spans.snapshot(), {});

  spans.enable();
  try {
    spans.end('a', performance.now() - 5);
    spans.end('a', performance.now() - 1);
    spans.mark('k');
    spans.mark('k'); // the first mark counts
    spans.seen('lag', 'k');
    spans.seen('lag', 'k'); // closed already: not counted twice
    spans.seen('lag', 'never-marked');
    await spans.time('t', async () => undefined);
    const s = spans.snapshot();
    assert.equal(s.a!.count, 2);
    assert.ok(s.a!.totalMs >= 6 && s.a!.maxMs >= 5);
    assert.equal(s.lag!.count, 1);
    assert.equal(s.t!.count, 1);
  } finally {
    spans.enabled = false;
    spans.reset();
  }
});
