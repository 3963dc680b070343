// SFT resumes exactly: the chat batches' data position (epoch, window) is saved with the checkpoint like the text
// sampler's, so an SFT run stopped at a checkpoint and resumed gives the uninterrupted run's loss at every later step,
// across an epoch boundary (a new seeded order).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChatBatches } from '../../../runtime/src/data/chat-batches.js';
import { byteTokenizer } from '../../../runtime/src/data/tokenizer.js';
import { Rng } from '../../../runtime/src/model/rng.js';
import { defaultTrainOptions } from '../../../runtime/src/train/options.js';
import { restore, snapshot } from '../../../runtime/src/train/state.js';
import { Trainer } from '../../../runtime/src/train/trainer.js';
import { microOverrides } from './fixtures.js';

function chat(): ChatBatches {
  const rng = new Rng(4);
  const samples = Array.from({ length: 12 }, (_, i) => {
    const n = 3 + rng.int(5);
    return { where: `c:${i + 1}`, ids: Int32Array.from({ length: n }, () => 97 + rng.int(10)), loss: Uint8Array.from({ length: n }, (_, j) => (j > 0 ? 1 : 0)) };
  });
  return new ChatBatches(samples, { seqLen: 8, mtpDepth: 1, packing: true }, 9);
}

test('SFT: stopping at a checkpoint and resuming gives the same loss at every later step (across an epoch end)', () => {
  const opts = defaultTrainOptions({ precision: 'fp32', steps: 8, batch: 2, seqLen: 8, overrides: microOverrides, checkpointEvery: 0 });
  const src = chat();
  const perEpoch = src.windowsOf(0).length;
  assert.ok(perEpoch < 8 * 2, `8 steps of 2 windows cross an epoch end (${perEpoch} windows an epoch)`);
  const full = new Trainer(opts, byteTokenizer, src);
  const expected = Array.from({ length: 8 }, () => full.trainStep().loss);
  const first = new Trainer(opts, byteTokenizer, chat());
  const before = Array.from({ length: 3 }, () => first.trainStep().loss);
  const files = new Map(snapshot(first).map((f) => [f.name, f.bytes]));
  const resumed = new Trainer(opts, byteTokenizer, chat());
  restore(resumed, files);
  assert.deepEqual(resumed.sampler.pos, { epoch: 0, index: 6 });
  const after = Array.from({ length: 5 }, () => resumed.trainStep().loss);
  assert.deepEqual([...before, ...after], expected);
});
