// Validation of the post-training data fields the CRD schema cannot check (operator/controllers/mtj/validate.ts):
// the runtime reads file:// URIs or pod paths only, and data.heldOutUri means something in sft and grpo only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateJob } from '../../../operator/controllers/mtj/validate.js';
import { makeJob } from './fixtures.js';

const sft = (data: Record<string, string>) => makeJob('s').with((j) => {
  j.spec.training = { ...j.spec.training, mode: 'sft' };
  j.spec.data = { format: 'chat', ...data };
}).obj();

test('an SFT job with file:// data and held-out data is valid', () => {
  assert.deepEqual(validateJob(sft({ uri: 'file:///data/train.jsonl', heldOutUri: '/data/held.jsonl' })), []);
});

test('another URI scheme is refused naming the field and the fix', () => {
  assert.deepEqual(validateJob(sft({ uri: 's3://bucket/train.jsonl' })), ['spec.data.uri: s3://bucket/train.jsonl — the runtime reads file:// URIs or paths inside the pod; mount the data through spec.template']);
  assert.match(validateJob(sft({ uri: '/d/t.jsonl', heldOutUri: 'gs://b/h.jsonl' })).join('\n'), /^spec\.data\.heldOutUri: gs:\/\/b\/h\.jsonl/);
});

test('held-out data on a pre-training job is refused (nothing would read it)', () => {
  const j = makeJob('p').with((x) => { x.spec.data = { format: 'jsonl', uri: '/d', heldOutUri: '/h' }; }).obj();
  assert.deepEqual(validateJob(j), ['spec.data.heldOutUri: read by training.mode sft (held-out loss) and grpo (held-out reward); remove it or set the mode']);
});
