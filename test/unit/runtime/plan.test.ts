// MOE_PLAN → training options: the operator's plan document drives the trainer in a pod.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { settingsFromPlan } from '../../../runtime/src/train/plan.js';
import { defaultTrainOptions } from '../../../runtime/src/train/options.js';

const base = defaultTrainOptions();

test('plan document fields map onto the trainer options (training, balance, precision, checkpoint, data)', () => {
  const s = settingsFromPlan({
    plan: { model: { preset: 'deepseek-v3-tiny', vocab_size: 2048, hidden_size: 256 } },
    training: { steps: 500, microBatchSize: 4, sequenceLength: 128, seed: 9, optimizer: { learningRate: 1e-3, warmupSteps: 50, gradClip: 0.5 }, balance: { biasUpdateSpeed: 0.002, sequenceAuxAlpha: 0.001 }, mtpLambda: 0.1 },
    precision: { format: 'bf16' },
    data: { format: 'jsonl', uri: 'file:///data/train.jsonl' },
    checkpoint: { dir: 'file:///checkpoints/ns/job', intervalSteps: 25, keep: 4 },
  }, base);
  assert.equal(s.runDir, '/checkpoints/ns/job');
  assert.equal(s.dataPath, '/data/train.jsonl');
  const o = s.options;
  assert.deepEqual([o.preset, o.precision, o.steps, o.batch, o.seqLen, o.seed], ['deepseek-v3-tiny', 'bf16', 500, 4, 128, 9]);
  assert.deepEqual([o.optimizer.lr, o.optimizer.warmupSteps, o.optimizer.clip, o.optimizer.totalSteps], [1e-3, 50, 0.5, 500]);
  assert.deepEqual([o.gamma, o.alpha, o.mtpLambda, o.checkpointEvery, o.keep], [0.002, 0.001, 0.1, 25, 4]);
  assert.deepEqual(o.overrides, base.overrides); // a preset plan keeps the runtime's byte-vocabulary override
});

test('plan document: e4m3 means fp8, synthetic data has no path, explicit configs become overrides', () => {
  const s = settingsFromPlan({ plan: { model: { hidden_size: 64 } }, precision: { format: 'e4m3' }, data: { format: 'synthetic' } }, base);
  assert.equal(s.options.precision, 'fp8');
  assert.equal(s.dataPath, undefined);
  assert.equal(s.options.overrides.hidden_size, 64);
});

test('plan document: unsupported storage and formats are refused with the field name', () => {
  assert.throws(() => settingsFromPlan({ checkpoint: { dir: 's3://bucket/x' } }, base), /checkpoint\.dir s3:\/\/bucket\/x: only file:\/\//);
  assert.throws(() => settingsFromPlan({ data: { format: 'tokens', uri: '/x' } }, base), /data\.format tokens/);
  assert.throws(() => settingsFromPlan({ precision: { format: 'e5m2' } }, base), /precision\.format e5m2/);
});
