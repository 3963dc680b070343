// moectl eval-report as a user runs it (kubectl get moeeval NAME -o json | moectl eval-report -): the scores over
// checkpoints from status, one line per task and metric; and the pure series behind the chart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scoreLines } from '../../../operator/report/eval-scores.js';

const root = resolve(fileURLToPath(import.meta.url), '../../../../..');
const bin = join(root, 'dist/operator/cli/moectl.js');
const dir = mkdtempSync(join(tmpdir(), 'moectl-eval-'));

const score = (name: string, metric: string, s: number) => ({ name, type: 'generate', metric, score: s, stderr: 0.05, n: 40 });
const evaluation = {
  apiVersion: 'moe.io/v1alpha1',
  kind: 'MoEEvaluation',
  metadata: { name: 'tiny-every-100', namespace: 'moe-demo' },
  spec: { target: { trainingJob: { name: 'tiny' } }, tasks: [] },
  status: {
    results: [100, 200, 300].map((step, i) => ({
      checkpoint: { step, uri: `file:///ckpt/step-${step}` },
      scores: [score('mmlu', 'accuracy', 0.3 + 0.1 * i), score('code', 'pass@1', 0.1 * i)],
    })),
  },
};

test('scoreLines: one line per task and metric, x = the checkpoint step (the run index when a result has none)', () => {
  const { byStep, lines } = scoreLines(evaluation as never);
  assert.equal(byStep, true);
  assert.deepEqual(lines.map((l) => [l.task, l.metric, l.points.map((p) => [p.x, Number(p.score.toFixed(2))])]), [
    ['mmlu', 'accuracy', [[100, 0.3], [200, 0.4], [300, 0.5]]],
    ['code', 'pass@1', [[100, 0], [200, 0.1], [300, 0.2]]],
  ]);
  const served = { ...evaluation, status: { results: [{ scores: [score('mmlu', 'accuracy', 0.5)] }, { scores: [score('mmlu', 'accuracy', 0.6)] }] } };
  assert.deepEqual(scoreLines(served as never).lines[0]!.points.map((p) => p.x), [0, 1]);
});

test('moectl eval-report - reads kubectl\'s JSON on stdin and writes NAME-scores.svg; bad input is named', () => {
  const svg = join(dir, 'out.svg');
  const r = spawnSync(process.execPath, [bin, 'eval-report', '-', '--svg', svg], { input: JSON.stringify(evaluation), encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), svg);
  const text = readFileSync(svg, 'utf8');
  assert.match(text, /^<svg[\s\S]*tiny-every-100: scores over checkpoints[\s\S]*training step/);
  assert.match(text, /mmlu accuracy: 0\.5 ± 0\.05 \(n=40\)/);
  assert.match(text, /code pass@1: 0\.2 ± 0\.05 \(n=40\)/);
  const bad = spawnSync(process.execPath, [bin, 'eval-report', '-'], { input: JSON.stringify({ kind: 'MoETrainingJob' }), encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /stdin: kind: expected MoEEvaluation, got "MoETrainingJob"; give the output of kubectl get moeeval NAME -o json/);
});
