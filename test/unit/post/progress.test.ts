// GRPO's progress report through the pod contract: what rank 0 sends (post/report.ts) parses back whole, the
// operator's lenient read keeps the grpo block (and drops a malformed field), a bad field is named; the plan
// document's judges are checked field by field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatProgress, parseProgress, parsePlanDocument, readJobReport } from '../../../operator/contract/index.js';
import { grpoProgress } from '../../../runtime/src/post/report.js';
import { grpoMetrics } from '../../../runtime/src/post/grpo.js';

const sums = { samples: 8, rewardSum: 2, rewardSq: 2, lengthSum: 40, groups: 2, groupsWithSignal: 1, rewardErrors: 1, judgeCalls: 8, judgeFailures: 3, klSum: 0.5, tokens: 40, clipped: 4, loss: 0.2 };

test('step sums → metrics: mean, population std, KL per token, signal fraction; loss averaged over ranks', () => {
  const m = grpoMetrics(5, sums, 2, { gradNorm: 1, lr: 0.1, seconds: 2, trainedTokens: 128, judgeError: { url: 'http://j/v1/chat/completions', error: 'timed out' } });
  assert.equal(m.rewardMean, 0.25);
  assert.equal(m.rewardStd, Math.sqrt(0.25 - 0.0625));
  assert.equal(m.kl, 0.5 / 40);
  assert.equal(m.signalFraction, 0.5);
  assert.equal(m.responseLength, 5);
  assert.equal(m.loss, 0.1);
  assert.equal(m.clipFraction, 0.1);
  const p = grpoProgress(m);
  assert.deepEqual(parseProgress(formatProgress(p)), p);
  assert.equal(p.grpo!.judgeError!.url, 'http://j/v1/chat/completions');
  assert.equal(p.tokens, 5 * 128);
  const read = readJobReport({ progress: JSON.stringify({ ...p, grpo: { ...p.grpo, kl: 'x' } }) });
  assert.equal(read.progress!.grpo!.kl, undefined);
  assert.equal(read.progress!.grpo!.rewardMean, 0.25);
  assert.throws(() => parseProgress(JSON.stringify({ ...p, grpo: { ...p.grpo, rewardStd: null } })), /progress: grpo\.rewardStd must be a finite number/);
  // Judge calls without failures: the counts (status shows the judge scoring), no error.
  const ok = grpoProgress(grpoMetrics(1, { ...sums, judgeFailures: 0 }, 1, { gradNorm: 0, lr: 0, seconds: 1, trainedTokens: 1 })).grpo!;
  assert.deepEqual([ok.judgeCalls, ok.judgeFailures, ok.judgeError], [8, 0, undefined]);
  // No judge reward: no judge fields.
  const none = grpoProgress(grpoMetrics(1, { ...sums, judgeCalls: 0, judgeFailures: 0 }, 1, { gradNorm: 0, lr: 0, seconds: 1, trainedTokens: 1 })).grpo!;
  assert.deepEqual([none.judgeCalls, none.judgeFailures, none.judgeError], [undefined, undefined, undefined]);
});

test('plan document: judges name a base URL and a model', () => {
  const doc = parsePlanDocument(JSON.stringify({ judges: { j: { baseUrl: 'http://j-router.ns.svc:8000/v1', model: 'j' } } }), 'plan');
  assert.equal(doc.judges!.j.baseUrl, 'http://j-router.ns.svc:8000/v1');
  assert.throws(() => parsePlanDocument(JSON.stringify({ judges: { j: { baseUrl: 'http://x/v1' } } }), 'plan'), /plan: judges\.j\.model must be a string/);
});
