// The MoEEvaluation metric families on the operator's registry pass promtool's rules (test/util/promlint.ts), and the
// series of a result are what scoreSeries makes of its scores.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evalMetrics, scoreSeries } from '../../../operator/controllers/eval/metrics.js';
import { OperatorMetrics } from '../../../operator/kube/metrics.js';
import { lintExposition } from '../../util/promlint.js';

test('moe_eval_score and moe_eval_score_stderr: one series per task and metric of the latest result, promtool-clean', async () => {
  const series = scoreSeries('team', 'e', [
    { name: 'mmlu', metric: 'accuracy', score: 0.625, stderr: 0.0484 },
    { name: 'code', metric: 'pass@1', score: 0.25, stderr: 0.1 },
    { name: 'broken', metric: 'accuracy', score: Number.NaN, stderr: 0 },
  ]);
  assert.deepEqual(series.map((s) => [s.labels, s.score, s.stderr]), [
    [{ namespace: 'team', evaluation: 'e', task: 'mmlu', metric: 'accuracy' }, 0.625, 0.0484],
    [{ namespace: 'team', evaluation: 'e', task: 'code', metric: 'pass@1' }, 0.25, 0.1],
  ]);
  const m = new OperatorMetrics();
  const ev = m.part(evalMetrics);
  for (const s of series) {
    ev.score.set(s.labels, s.score);
    ev.stderr.set(s.labels, s.stderr);
  }
  const text = await m.registry.metrics();
  assert.deepEqual(lintExposition(text), []);
  assert.match(text, /moe_eval_score\{namespace="team",evaluation="e",task="code",metric="pass@1"\} 0\.25/);
  assert.match(text, /moe_eval_score_stderr\{namespace="team",evaluation="e",task="mmlu",metric="accuracy"\} 0\.0484/);
});
