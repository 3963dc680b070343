// Greedy generation reads the run's latest checkpoint (weights, config, tokenizer) and continues the prompt.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generate } from '../../../runtime/src/generate.js';
import { saveCheckpoint } from '../../../runtime/src/checkpoint/checkpoint-dirs.js';
import { Trainer } from '../../../runtime/src/train/trainer.js';
import { defaultTrainOptions } from '../../../runtime/src/train/options.js';
import { snapshot } from '../../../runtime/src/train/state.js';
import { byteTokenizer } from '../../../runtime/src/data/tokenizer.js';
import { microOverrides } from './fixtures.js';

test('generate: greedy continuation from the latest checkpoint repeats a pattern the model was trained on', async () => {
  // A corpus of one repeated phrase: after training, greedy decoding must continue it.
  const tokens = byteTokenizer.encode('abcd'.repeat(400));
  const opts = defaultTrainOptions({ precision: 'fp32', steps: 40, batch: 2, seqLen: 8, overrides: microOverrides });
  opts.optimizer = { ...opts.optimizer, lr: 2e-2, warmupSteps: 2 };
  const t = new Trainer(opts, byteTokenizer, tokens);
  let last = 0;
  for (let i = 0; i < 40; i++) last = t.trainStep().mainLoss;
  assert.ok(last < 0.5, `training on a repeated phrase should drive the loss near 0, got ${last}`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'moe-gen-'));
  try {
    await saveCheckpoint(dir, t.step, snapshot(t), 1);
    assert.equal(generate(dir, 'abcdab', 6, 'fp32'), 'abcdabcdabcd');
    assert.throws(() => generate(path.join(dir, 'nothing'), 'a', 1, 'fp32'), /has no usable checkpoint/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
