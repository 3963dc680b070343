// One run of the FP8-vs-BF16 quality bench (bench/train/fp8-quality-run.ts), cut to a few steps: the schedule knobs
// reach the trainer, the weights' moving average with decay 0 is the live weights (so swapping it in and back leaves
// the run untouched), and bad knobs are refused by name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runOnce } from '../../../bench/train/fp8-quality-run.js';

process.env.MOE_NUM_THREADS ??= '1';

test('the knobs reach the trainer and a decay-0 moving average evaluates exactly as the live weights', () => {
  const base = { variant: 'bf16', seed: 7, steps: 2, evalEvery: 1, evalWindows: 8 } as const;
  const r = runOnce({ ...base, lr: 0.002, minLrRatio: 0.01, warmup: 1, batch: 2, gamma: 0, ema: 0 });
  assert.deepEqual(r.setup, { lr: 0.002, minLr: 0.002 * 0.01, warmupSteps: 1, batch: 2, seqLen: 64, gamma: 0, mtpLambda: 0.3, denseLayers: 1, layers: 4 });
  assert.equal(r.evals.length, 3);
  assert.deepEqual(r.emaEvals, r.evals);
  // The same run without the average: swapping the average in and out did not change the training.
  const plain = runOnce({ ...base, lr: 0.002, minLrRatio: 0.01, warmup: 1, batch: 2, gamma: 0 });
  assert.deepEqual(plain.trainLoss, r.trainLoss);
  assert.deepEqual(plain.evals, r.evals);
  assert.equal(plain.emaEvals, undefined);
  // A decay near 1 keeps the average at the initial weights (γ 0: the routers' live biases stay put too): its loss
  // stays at step 0's while the live one falls.
  const slow = runOnce({ ...base, lr: 0.002, warmup: 1, batch: 2, gamma: 0, ema: 0.999999 });
  assert.ok(Math.abs(slow.emaEvals![2].loss - slow.evals[0].loss) < 1e-3, `${slow.emaEvals![2].loss} vs ${slow.evals[0].loss}`);
  assert.ok(slow.evals[2].loss < slow.evals[0].loss - 0.05, `the live loss fell: ${slow.evals[0].loss} → ${slow.evals[2].loss}`);
});

test('dense: every layer without routing', () => {
  const r = runOnce({ variant: 'fp8', seed: 7, steps: 1, evalEvery: 1, evalWindows: 8, batch: 2, dense: true });
  assert.equal(r.setup.denseLayers, r.setup.layers);
});

test('bad knobs are refused by name', () => {
  const base = { variant: 'fp8', seed: 1, steps: 1, evalEvery: 1, evalWindows: 8 } as const;
  assert.throws(() => runOnce({ ...base, minLrRatio: 2 }), /minLrRatio must be in \[0, 1\]/);
  assert.throws(() => runOnce({ ...base, ema: 1 }), /ema must be a decay in \[0, 1\)/);
  assert.throws(() => runOnce({ ...base, batch: 0 }), /batch must be an integer >= 1/);
  assert.throws(() => runOnce({ ...base, warmup: 1.5 }), /warmup must be an integer >= 1/);
  assert.throws(() => runOnce({ ...base, lr: 3 }), /lr must be in \(0, 1\)/);
});
