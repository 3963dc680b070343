// Where a run starts (issue 13 §1, issue 19 item 11): the operator's resume variables, the ranks' agreement rule,
// and the single-process start (resume everything vs initialise the weights only).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { agreeRound, startSpec } from '../../../runtime/src/checkpoint/resume.js';
import { CheckpointAbort, checkpointsDir, listSteps, saveCheckpoint, setAsideCheckpoints, stepDirName } from '../../../runtime/src/checkpoint/checkpoint-dirs.js';
import { findResume, initWeights } from '../../../runtime/src/train/start.js';
import { Trainer } from '../../../runtime/src/train/trainer.js';
import { defaultTrainOptions } from '../../../runtime/src/train/options.js';
import { snapshot, STATE_FILE } from '../../../runtime/src/train/state.js';
import { byteTokenizer } from '../../../runtime/src/data/tokenizer.js';
import { syntheticCorpus } from '../../../runtime/src/data/grammar.js';
import { microOverrides } from './fixtures.js';

describe('the resume variables', () => {
  test('by default the newest checkpoint of the run folder; MOE_RESUME_STEP caps it', () => {
    assert.deepEqual(startSpec({}, '/run'), { resume: { path: '/run', origin: 'this job\'s run folder' } });
    assert.equal(startSpec({ MOE_RESUME_STEP: '40' }, '/run').resume?.step, 40);
  });
  test('MOE_RESUME_URI (a checkpoint the operator recorded) wins over MOE_RESUME_FROM', () => {
    const s = startSpec({ MOE_RESUME_URI: 'file:///ck/ns/a/checkpoints/step-00000040', MOE_RESUME_STEP: '40', MOE_RESUME_FROM: 'none' }, '/run');
    assert.deepEqual(s.resume, { path: '/ck/ns/a/checkpoints/step-00000040', step: 40, origin: 'MOE_RESUME_URI=file:///ck/ns/a/checkpoints/step-00000040' });
  });
  test('MOE_RESUME_FROM none starts fresh; a URI resumes from there; MOE_INIT_URI asks for weights', () => {
    assert.deepEqual(startSpec({ MOE_RESUME_FROM: 'none' }, '/run'), {});
    assert.equal(startSpec({ MOE_RESUME_FROM: 'file:///ck/ns/pre' }, '/run').resume?.path, '/ck/ns/pre');
    assert.equal(startSpec({ MOE_INIT_URI: 'file:///ck/ns/pre' }, '/run').init?.path, '/ck/ns/pre');
  });
  test('bad values name the variable', () => {
    assert.throws(() => startSpec({ MOE_RESUME_STEP: 'x' }, '/run'), /MOE_RESUME_STEP must be a non-negative integer, got 'x'/);
    assert.throws(() => startSpec({ MOE_INIT_URI: 's3://b/k' }, '/run'), /MOE_INIT_URI=s3:\/\/b\/k: only file:\/\/ URIs/);
  });
});

describe('agreeing on one step', () => {
  const rep = (rank: number, step: number | null, abort?: string) => ({ rank, step, skipped: [], ...(abort ? { abort } : {}) });
  test('every rank at the same step: agreed', () => assert.deepEqual(agreeRound([rep(0, 6), rep(1, 6)]), { kind: 'agreed', step: 6 }));
  test('rank 1 can only go back to 4: everyone asks again at or below 4', () => assert.deepEqual(agreeRound([rep(0, 6), rep(1, 4)]), { kind: 'again', ceiling: 4 }));
  test('a rank with nothing usable: none', () => assert.deepEqual(agreeRound([rep(0, 6), rep(1, null)]), { kind: 'none' }));
  test('any abort wins, naming the rank', () => assert.deepEqual(agreeRound([rep(1, null, 'gone'), rep(0, 6)]), { kind: 'abort', reason: 'rank 1: gone' }));
});

describe('single-process start', () => {
  const tokens = byteTokenizer.encode(syntheticCorpus(3, 4000));
  const opts = defaultTrainOptions({ precision: 'fp32', steps: 4, batch: 2, seqLen: 8, overrides: microOverrides, checkpointEvery: 0 });
  const withRun = async (fn: (dir: string, trained: Trainer) => Promise<void> | void) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'moe-start-'));
    try {
      const t = new Trainer(opts, byteTokenizer, tokens);
      for (const s of [1, 2, 3]) {
        t.trainStep();
        await saveCheckpoint(dir, s, snapshot(t), 5);
      }
      await fn(dir, t);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  const stateFile = (dir: string, s: number) => path.join(checkpointsDir(dir), stepDirName(s), STATE_FILE);

  test('resumes the newest; the operator\'s step caps it; none resumes nothing', () => withRun((dir) => {
    assert.equal(findResume(startSpec({}, dir), () => {})?.step, 3);
    assert.equal(findResume(startSpec({ MOE_RESUME_STEP: '2' }, dir), () => {})?.step, 2);
    assert.equal(findResume(startSpec({ MOE_RESUME_FROM: 'none' }, dir), () => {}), undefined);
  }));

  test('a fresh start (none) moves old checkpoints aside instead of sharing the folder with them', () => withRun((dir) => {
    const to = setAsideCheckpoints(dir, new Date('2026-01-02T03:04:05.678Z'))!;
    assert.equal(path.basename(to), 'checkpoints.replaced-2026-01-02T03-04-05-678Z');
    assert.deepEqual(readdirSync(to).sort(), ['step-00000001', 'step-00000002', 'step-00000003']);
    assert.deepEqual(listSteps(dir), []);
    assert.equal(setAsideCheckpoints(dir), undefined, 'nothing left to move');
  }));

  test('every checkpoint corrupt is an error naming each, not a fresh start', () => withRun((dir) => {
    for (const s of [1, 2, 3]) writeFileSync(stateFile(dir, s), 'junk');
    assert.throws(() => findResume(startSpec({}, dir), () => {}), /no usable checkpoint: step 3: .*step 2: .*step 1: /);
  }));

  test('a manifest listing a state file that is not there aborts instead of falling back', () => withRun((dir) => {
    rmSync(stateFile(dir, 3));
    assert.throws(() => findResume(startSpec({}, dir), () => {}), (e: Error) => e instanceof CheckpointAbort && /lists train_state\.safetensors, which does not exist/.test(e.message));
  }));

  test('init takes the weights and router biases only: fresh optimizer, step 0, data from the start', () => withRun((dir, trained) => {
    const t = new Trainer(opts, byteTokenizer, tokens);
    const from = initWeights(t, startSpec({ MOE_INIT_URI: `file://${dir}` }, '/elsewhere').init!, () => {});
    assert.deepEqual([from.step, from.writers], [3, 1]);
    for (const p of trained.params.list()) assert.deepEqual(t.params.get(p.name).data, p.data, p.name);
    for (const [k, b] of trained.params.buffers) assert.deepEqual(t.params.buffers.get(k), b, k);
    assert.equal(t.step, 0);
    assert.deepEqual(t.sampler.pos, { epoch: 0, index: 0 });
    for (const m of t.opt.m.values()) assert.ok(m.every((x) => x === 0));
  }));
});
