// The evaluation pod's messages: plan and result round-trip as written, and each malformed field is named.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EvalExitCode, formatEvalPlan, formatEvalResult, parseEvalPlan, parseEvalResult, readEvalResult, type EvalPlan, type EvalResult } from '../../../operator/contract/index.js';

const plan: EvalPlan = {
  target: { kind: 'api', baseUrl: 'http://tiny-serve-router.ns.svc:8000/v1', model: 'tiny' },
  tasks: [
    { name: 'arith-mc', type: 'multiple_choice', file: '/etc/moe/tasks/arith.jsonl', limit: 50 },
    { name: 'sums', type: 'generate', file: '/etc/moe/tasks/sums.jsonl', maxTokens: 16, answerPattern: '= (\\d+)' },
    { name: 'code', type: 'code', file: '/data/code.jsonl', samples: 4, k: [1, 4], timeoutSeconds: 5, memoryMiB: 256 },
  ],
  checkpoint: { step: 40, uri: 'file:///checkpoints/job/checkpoints/step-00000040' },
  requestTimeoutSeconds: 30,
  retries: 2,
};
const result: EvalResult = {
  checkpoint: { step: 40, uri: 'file:///checkpoints/job/checkpoints/step-00000040' },
  scores: [{ name: 'arith-mc', type: 'multiple_choice', metric: 'accuracy', score: 0.62, stderr: 0.0686, n: 50 }],
  startedAt: '2026-12-07T07:00:00Z',
  finishedAt: '2026-12-07T07:01:00Z',
};

describe('evaluation contract', () => {
  it('plan and result round-trip, byte for byte as JSON', () => {
    assert.deepEqual(parseEvalPlan(formatEvalPlan(plan)), plan);
    assert.equal(formatEvalResult(result), '{"checkpoint":{"step":40,"uri":"file:///checkpoints/job/checkpoints/step-00000040"},"scores":[{"name":"arith-mc","type":"multiple_choice","metric":"accuracy","score":0.62,"stderr":0.0686,"n":50}],"startedAt":"2026-12-07T07:00:00Z","finishedAt":"2026-12-07T07:01:00Z"}');
    assert.deepEqual(parseEvalResult(formatEvalResult(result)), result);
    assert.deepEqual(parseEvalPlan(JSON.stringify({ ...plan, target: { kind: 'model', path: '/models/x' }, checkpoint: undefined })).target, { kind: 'model', path: '/models/x' });
  });

  it('names the malformed field', () => {
    const bad = (patch: object): string => JSON.stringify({ ...plan, ...patch });
    assert.throws(() => parseEvalPlan(bad({ target: { kind: 'ftp' } })), /plan\.json: target\.kind must be "api" or "model", got "ftp"/);
    assert.throws(() => parseEvalPlan(bad({ tasks: [] })), /tasks must be a non-empty array/);
    assert.throws(() => parseEvalPlan(bad({ tasks: [{ ...plan.tasks[0], type: 'essay' }] })), /tasks\[0\]\.type must be one of multiple_choice, generate, code, got "essay"/);
    assert.throws(() => parseEvalPlan(bad({ tasks: [{ ...plan.tasks[1], answerPattern: '(' }] })), /tasks\[0\]\.answerPattern must be a regular expression/);
    assert.throws(() => parseEvalPlan(bad({ tasks: [{ ...plan.tasks[2], k: [1, 8] }] })), /tasks\[0\]\.k must be at most samples \(4\)/);
    assert.throws(() => parseEvalPlan(bad({ tasks: [plan.tasks[0], plan.tasks[0]] })), /tasks\[1\]\.name must be unique/);
    assert.throws(() => parseEvalPlan(bad({ retries: -1 })), /retries must be an integer >= 0/);
    assert.throws(() => parseEvalResult(JSON.stringify({ ...result, scores: [{ ...result.scores[0], stderr: -1 }] })), /result: scores\[0\]\.stderr must be a number >= 0/);
    assert.equal(readEvalResult({ result: '{"scores": 3}' }), undefined);
    assert.deepEqual(readEvalResult({ result: formatEvalResult(result) }), result);
  });

  it('carries the sandbox isolation of code scores and the error of a failed run', () => {
    const failed: EvalResult = {
      ...result,
      scores: [{ name: 'code', type: 'code', metric: 'pass@1', score: 0.5, stderr: 0.5, n: 2, isolation: 'network=netns limits=prlimit' }],
      error: { reason: 'ModelUnreachable', message: 'http://x/v1: unreachable after 3 attempts (connect ECONNREFUSED)' },
    };
    assert.deepEqual(parseEvalResult(formatEvalResult(failed)), failed);
    assert.throws(() => parseEvalResult(JSON.stringify({ ...failed, error: { reason: 'Oops', message: 'x' } })), /result: error\.reason must be one of Failed, BadTasks, ModelUnreachable, got "Oops"/);
    assert.throws(() => parseEvalResult(JSON.stringify({ ...failed, error: { reason: 'Failed' } })), /result: error\.message must be a non-empty string/);
    assert.deepEqual(EvalExitCode, { ok: 0, failed: 1, badTasks: 2, modelUnreachable: 3 });
  });
});
