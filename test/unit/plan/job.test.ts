// Reading MoETrainingJob specs: defaults and field errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readJobSpec } from '../../../operator/plan/job.js';

const base = () => ({ model: { preset: 'deepseek-v3-tiny' }, parallelism: { pipeline: { stages: 2, schedule: 'DualPipe', microBatches: 4 }, expert: 4, gpusPerPod: 4 } });

test('defaults follow the CRD; micro-batch size is derived from the global batch', () => {
  const r = readJobSpec({ ...base(), training: { globalBatchSize: 32 } });
  assert.ok(r.ok);
  if (!r.ok) return;
  assert.equal(r.job.parallelism.data, 1);
  assert.equal(r.job.parallelism.tensor, 1);
  assert.equal(r.job.training.sequenceLength, 4096);
  assert.equal(r.job.training.microBatchSize, 2); // 32 / (1 × 4 × 4)
  assert.equal(r.job.packing.strategy, 'Pack');
  assert.equal(r.job.topologyRef, 'default');
});

const CASES: [string, unknown, string, RegExp][] = [
  ['not an object', 'x', 'spec', /must be an object/],
  ['no model', { parallelism: base().parallelism }, 'spec.model', /is required/],
  ['no parallelism', { model: base().model }, 'spec.parallelism', /is required/],
  ['bad schedule', { ...base(), parallelism: { pipeline: { schedule: 'GPipe' } } }, 'spec.parallelism.pipeline.schedule', /one of DualPipe, DualPipeV, 1F1B, got "GPipe"/],
  ['fractional stages', { ...base(), parallelism: { pipeline: { stages: 2.5 } } }, 'spec.parallelism.pipeline.stages', /whole number ≥ 1, got 2.5/],
  ['zero expert', { ...base(), parallelism: { expert: 0 } }, 'spec.parallelism.expert', /whole number ≥ 1/],
  ['pipeline not an object', { ...base(), parallelism: { pipeline: 3 } }, 'spec.parallelism.pipeline', /must be an object/],
  ['batch not divisible', { ...base(), training: { globalBatchSize: 30 } }, 'spec.training.globalBatchSize', /\(30\) must be divisible by data × expert × microBatches \(16\).*use 32/],
  ['bad micro-batch size', { ...base(), training: { microBatchSize: 0 } }, 'spec.training.microBatchSize', /whole number ≥ 1/],
  ['bad strategy', { ...base(), packing: { strategy: 'Tight' } }, 'spec.packing.strategy', /Pack or Spread/],
  ['bad excludeNodes', { ...base(), packing: { excludeNodes: [1] } }, 'spec.packing.excludeNodes', /list of node names/],
  ['bad rule group', { ...base(), packing: { rules: [{ level: 'leaf', group: 'everything' }] } }, 'spec.packing.rules[0].group', /expert, pipelineNeighbours or pod/],
  ['bad rule mode', { ...base(), packing: { rules: [{ level: 'leaf', group: 'expert', mode: 'maybe' }] } }, 'spec.packing.rules[0].mode', /required or preferred/],
  ['rule without level', { ...base(), packing: { rules: [{ group: 'expert' }] } }, 'spec.packing.rules[0].level', /name a topology level/],
  ['rules not a list', { ...base(), packing: { rules: 'leaf' } }, 'spec.packing.rules', /must be a list/],
];

for (const [name, spec, field, msg] of CASES) {
  test(`readJobSpec: ${name} → ${field}`, () => {
    const r = readJobSpec(spec);
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.ok(r.errors.some((e) => e.field === field && msg.test(e.message)), JSON.stringify(r.errors));
  });
}
