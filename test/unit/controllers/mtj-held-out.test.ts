// SFT's held-out loss on its way to status: rank 0's progress report carries heldOutLoss (contract/reports.ts), the
// operator reads it leniently, and the status builder writes it — also when it is the only field that changed (it is
// sent again after the last step with the same step fields).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StatusBuilder } from '../../../operator/controllers/mtj/status.js';
import { formatProgress, parseProgress, readJobReport } from '../../../operator/contract/index.js';
import { makeJob } from './fixtures.js';

const now = new Date('2026-03-01T10:00:00Z');

test('progress.heldOutLoss: formatted, parsed, read, and a malformed one named or left out', () => {
  const p = { step: 12, tokens: 768, loss: 0.5, tokensPerSecond: 100, heldOutLoss: 0.25 };
  assert.deepEqual(parseProgress(formatProgress(p)), p);
  assert.deepEqual(readJobReport({ progress: JSON.stringify(p) }).progress, p);
  assert.throws(() => parseProgress(JSON.stringify({ ...p, heldOutLoss: 'low' })), /heldOutLoss/);
  assert.deepEqual(readJobReport({ progress: JSON.stringify({ ...p, heldOutLoss: 'low' }) }).progress, { step: 12, tokens: 768, loss: 0.5, tokensPerSecond: 100 });
});

test('status.progress.heldOutLoss is written, and rewritten when only it changes', () => {
  const st = new StatusBuilder(makeJob('a').obj(), now);
  st.report({ step: 12, tokens: 768, loss: 0.5, tokensPerSecond: 100, heldOutLoss: 1.3 }, undefined);
  assert.equal(st.status.progress!.heldOutLoss, 1.3);
  st.report({ step: 12, tokens: 768, loss: 0.5, tokensPerSecond: 100, heldOutLoss: 0.24 }, undefined);
  assert.equal(st.status.progress!.heldOutLoss, 0.24);
  assert.equal(st.status.progress!.step, 12);
});
