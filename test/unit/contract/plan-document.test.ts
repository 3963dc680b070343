// The plan document (operator/contract/plan-document.ts): the operator's document and a hand-written one both
// round-trip; a malformed field is named with its path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatPlanDocument, parsePlanDocument, type PlanDocument, type PodPlanDocument } from '../../../operator/contract/plan-document.js';
import { planDocument } from '../../../operator/controllers/mtj/desired.js';
import { makeJob, makePlan } from '../controllers/fixtures.js';

const SRC = 'MOE_PLAN=/etc/moe/plan/plan.json';

test("format → parse gives the operator's document back", () => {
  const doc: PlanDocument = {
    job: { namespace: 'team', name: 'a', attempt: 2 },
    plan: makePlan(2, 4),
    training: { steps: 500, globalBatchSize: 64, sequenceLength: 128, seed: 9, optimizer: { learningRate: 0.001, gradClip: 1 }, balance: { biasUpdateSpeed: 0.001 } },
    precision: { format: 'e4m3' },
    data: { format: 'jsonl', uri: 'file:///data/train.jsonl' },
    checkpoint: { dir: 'file:///checkpoints/team/a', intervalSteps: 100, keep: 3, resumeStep: 300, resumeUri: 'file:///checkpoints/team/a/checkpoints/step-300', resumeFrom: 'latest', initUri: null },
    report: { configMap: 'a-report', namespace: 'team' },
  };
  const pods: PodPlanDocument = doc; // what the operator writes is a document every pod accepts
  assert.deepEqual(parsePlanDocument(formatPlanDocument(doc), SRC), pods);
});

test('what planDocument builds is accepted as it is', () => {
  const ctx = { attempt: 1, gpuResource: 'nvidia.com/gpu', rdmaResource: 'rdma/ib' };
  const doc = planDocument(makeJob('a').obj(), makePlan(1, 8), ctx);
  assert.deepEqual(parsePlanDocument(formatPlanDocument(doc), SRC), JSON.parse(JSON.stringify(doc)));
  assert.deepEqual(doc.checkpoint, { dir: 'file:///checkpoints/team/a', intervalSteps: 100, keep: 3, resumeStep: null, resumeUri: null, resumeFrom: 'latest', initUri: null });
});

test('a hand-written document with most sections absent (local runs) round-trips', () => {
  const text = JSON.stringify({
    plan: { model: { preset: 'deepseek-v3-tiny', hidden_size: 64 }, parallelism: { pipeline: { stages: 2, schedule: 'DualPipe', microBatches: 4 }, expert: 2, data: 1 }, rankTable: { order: 'tp,ep,pp,dp', pp: [0, 0, 1, 1], ep: [0, 1, 0, 1], dp: [0, 0, 0, 0], tp: [0, 0, 0, 0] } },
    training: { steps: 8 },
    checkpoint: { dir: '/tmp/run', intervalSteps: 2 },
  });
  assert.deepEqual(parsePlanDocument(text, SRC), {
    plan: { model: { preset: 'deepseek-v3-tiny', hidden_size: 64 }, parallelism: { pipeline: { stages: 2, schedule: 'DualPipe', microBatches: 4 }, expert: 2, data: 1 }, rankTable: { order: 'tp,ep,pp,dp', pp: [0, 0, 1, 1], ep: [0, 1, 0, 1], dp: [0, 0, 0, 0], tp: [0, 0, 0, 0] } },
    training: { steps: 8 },
    checkpoint: { dir: '/tmp/run', intervalSteps: 2 },
  });
  assert.deepEqual(parsePlanDocument('{}', SRC), {});
});

test('each malformed field is named with its path', () => {
  const bad = (doc: object) => () => parsePlanDocument(JSON.stringify(doc), SRC);
  assert.throws(bad({ job: { attempt: -1 } }), /^Error: MOE_PLAN=\/etc\/moe\/plan\/plan\.json: job\.attempt must be an integer >= 0, got -1$/);
  assert.throws(bad({ training: { steps: 0 } }), /: training\.steps must be an integer >= 1, got 0/);
  assert.throws(bad({ training: { optimizer: { learningRate: '1e-3' } } }), /: training\.optimizer\.learningRate must be a finite number, got "1e-3"/);
  assert.throws(bad({ training: { balance: [] } }), /: training\.balance must be a JSON object, got \[\]/);
  assert.throws(bad({ precision: { format: 8 } }), /: precision\.format must be a string, got 8/);
  assert.throws(bad({ data: { uri: null } }), /: data\.uri must be a string, got null/);
  assert.throws(bad({ checkpoint: { resumeStep: 'x' } }), /: checkpoint\.resumeStep must be an integer >= 0, got "x"/);
  assert.throws(bad({ checkpoint: { keep: 1.5 } }), /: checkpoint\.keep must be an integer >= 0, got 1.5/);
  assert.throws(bad({ plan: { model: { preset: 3 } } }), /: plan\.model\.preset must be a string, got 3/);
  assert.throws(bad({ plan: { parallelism: { pipeline: { stages: 2, schedule: 'DualPipe', microBatches: 4 }, expert: 2 } } }), /: plan\.parallelism\.data must be present, got nothing/);
  assert.throws(bad({ plan: { parallelism: { pipeline: { stages: 2, microBatches: 4 }, expert: 2, data: 1 } } }), /: plan\.parallelism\.pipeline\.schedule must be present/);
  assert.throws(bad({ plan: { rankTable: { pp: [0], ep: [0, -1], dp: [0], tp: [0] } } }), /: plan\.rankTable\.ep\[1\] must be an integer >= 0, got -1/);
  assert.throws(bad({ plan: { rankTable: { pp: [0], ep: [0], dp: [0] } } }), /: plan\.rankTable\.tp must be present/);
  assert.throws(bad({ report: 'a-report' }), /: report must be a JSON object, got "a-report"/);
  assert.throws(() => parsePlanDocument('[]', SRC), /: the message must be a JSON object, got \[\]/);
  assert.throws(() => parsePlanDocument('{', SRC), /plan\.json: not JSON/);
});
