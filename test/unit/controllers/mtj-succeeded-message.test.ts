// The Succeeded message of a MoETrainingJob, with and without progress reports (a plain PyTorch script reports none).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rankZeroSucceededMessage } from '../../../operator/controllers/mtj/status.js';

test('a runtime that reported progress: the message names the last step', () => {
  assert.equal(rankZeroSucceededMessage('tiny-0', 24), 'rank 0 (pod tiny-0) exited 0 at step 24');
  assert.equal(rankZeroSucceededMessage('tiny-0', 0), 'rank 0 (pod tiny-0) exited 0 at step 0');
});

test('a runtime that never reported progress: no "step ?", the message says the step is not known', () => {
  const m = rankZeroSucceededMessage('ddp-0', undefined);
  assert.doesNotMatch(m, /\?/);
  assert.equal(m, 'rank 0 (pod ddp-0) exited 0; the runtime reported no progress, so the last step is not known');
});
