// Where a new gang starts, as the operator tells the pods (issue 13 §1): resumeFrom reaches the runtime as
// MOE_RESUME_FROM, the job's own recorded checkpoint wins once there is one, and initFrom becomes MOE_INIT_URI.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { contractEnv, startContext, type RunContext } from '../../../operator/controllers/mtj/desired.js';
import type { IMoETrainingJob } from '../../../operator/api/types.gen.js';
import { makeJob, makePlan } from './fixtures.js';

const base = { attempt: 1, gpuResource: 'nvidia.com/gpu', rdmaResource: 'rdma/ib' };
const envOf = (job: IMoETrainingJob, ctx: RunContext) => Object.fromEntries(contractEnv(job, makePlan(1, 8), 0, ctx).map((e) => [e.name, e.value]));
const ckpt = (c: NonNullable<IMoETrainingJob['spec']['checkpoint']>) => (j: IMoETrainingJob) => (j.spec.checkpoint = c);

describe('the start of a gang', () => {
  test('resumeFrom reaches the pods as MOE_RESUME_FROM (latest by default)', () => {
    assert.equal(envOf(makeJob('a').obj(), base).MOE_RESUME_FROM, 'latest');
    const job = makeJob('a').with(ckpt({ resumeFrom: 'none' })).obj();
    const env = envOf(job, { ...base, ...startContext(job, undefined, undefined) as object });
    assert.equal(env.MOE_RESUME_FROM, 'none');
    assert.equal(env.MOE_RESUME_URI, undefined);
  });

  test('once the job recorded a checkpoint, a restart resumes it even when resumeFrom names another source', () => {
    const job = makeJob('a').with(ckpt({ resumeFrom: 'file:///ck/team/pre' })).obj();
    const start = startContext(job, { step: 40, uri: 'file:///checkpoints/team/a/checkpoints/step-00000040' }, undefined);
    assert.deepEqual(start, { resumeStep: 40, resumeUri: 'file:///checkpoints/team/a/checkpoints/step-00000040' });
    const env = envOf(job, { ...base, ...start as object });
    assert.deepEqual([env.MOE_RESUME_STEP, env.MOE_RESUME_URI, env.MOE_RESUME_FROM], ['40', 'file:///checkpoints/team/a/checkpoints/step-00000040', 'file:///ck/team/pre']);
  });

  test('initFrom.uri becomes MOE_INIT_URI', () => {
    const job = makeJob('a').with(ckpt({ initFrom: { uri: 'file:///ck/team/pre' } })).obj();
    const start = startContext(job, undefined, undefined);
    assert.deepEqual(start, { initUri: 'file:///ck/team/pre' });
    assert.equal(envOf(job, { ...base, ...start as object }).MOE_INIT_URI, 'file:///ck/team/pre');
  });

  test('initFrom.trainingJob waits for the job to succeed, then names its run folder', () => {
    const job = makeJob('ft').with(ckpt({ initFrom: { trainingJob: { name: 'pre' } } })).obj();
    assert.match((startContext(job, undefined, undefined) as { waiting: string }).waiting, /initFrom\.trainingJob: MoETrainingJob pre not found/);
    const pre = makeJob('pre').with(ckpt({ uri: 'file:///shared' })).obj();
    pre.status = { phase: 'Running' };
    assert.match((startContext(job, undefined, pre) as { waiting: string }).waiting, /pre is Running; waiting until it has Succeeded/);
    pre.status = { phase: 'Succeeded' };
    assert.deepEqual(startContext(job, undefined, pre), { initUri: 'file:///shared/team/pre' });
  });
});
