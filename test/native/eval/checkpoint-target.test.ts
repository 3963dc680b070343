// Evaluating one training checkpoint: a target path naming <run>/checkpoints/step-N (as a file:// URI, as the
// operator records checkpoints) scores THAT step's weights — equal to the trainer's model right after step N, not the
// newest checkpoint of the run — and the result carries the plan's checkpoint.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkpointsDir, saveCheckpoint, stepDirName } from '../../../runtime/src/checkpoint/checkpoint-dirs.js';
import { byteTokenizer } from '../../../runtime/src/data/tokenizer.js';
import { defaultTrainOptions } from '../../../runtime/src/train/options.js';
import { snapshot } from '../../../runtime/src/train/state.js';
import { Trainer } from '../../../runtime/src/train/trainer.js';
import { Engine } from '../../../runtime/src/serve/engine/engine.js';
import { weightsFromParams } from '../../../runtime/src/serve/engine/weights.js';
import { EngineModel } from '../../../runtime/src/eval/engine-model.js';
import { evalMain } from '../../../runtime/src/eval/main.js';
import { parseEvalResult } from '../../../operator/contract/index.js';
import type { ConfigMapStore } from '../../../runtime/src/kube/configmaps.js';
import { microServe } from '../serve/fixtures.js';

const IDS = Array.from(byteTokenizer.encode('the cat sat'));

async function logprobsOf(m: EngineModel): Promise<number[]> {
  try {
    return await m.promptLogprobs(IDS);
  } finally {
    await m.close();
  }
}

test('a step-N checkpoint folder is evaluated with its own weights', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'eval-ck-'));
  try {
    const t = new Trainer(defaultTrainOptions({ overrides: microServe, precision: 'fp32', seqLen: 24, batch: 2, steps: 2 }), byteTokenizer, byteTokenizer.encode('the cat sat on the mat. '.repeat(20)));
    t.trainStep();
    await saveCheckpoint(dir, 1, snapshot(t), 3);
    const atStep1 = await logprobsOf(new EngineModel(Engine.fromWeights(t.config, byteTokenizer, weightsFromParams(t.params), { maxBatch: 2, maxQueue: 8, precision: 'fp32' }), 'step 1 in memory'));
    t.trainStep();
    await saveCheckpoint(dir, 2, snapshot(t), 3);
    const step1Dir = path.join(checkpointsDir(dir), stepDirName(1));
    const fromStep1 = await logprobsOf(await EngineModel.load(step1Dir, { precision: 'fp32' }));
    const latest = await logprobsOf(await EngineModel.load(dir, { precision: 'fp32' }));
    assert.deepEqual(fromStep1, atStep1);
    assert.notDeepEqual(latest, fromStep1);

    // Through the command, as the operator's plan names it.
    const task = path.join(dir, 'mc.jsonl');
    writeFileSync(task, '{"question":"the cat","choices":["sat","ran"],"answer":0}\n');
    const planFile = path.join(dir, 'plan.json');
    writeFileSync(planFile, JSON.stringify({
      target: { kind: 'model', path: `file://${step1Dir}` }, tasks: [{ name: 'mc', type: 'multiple_choice', file: task }],
      checkpoint: { step: 1, uri: `file://${step1Dir}` }, requestTimeoutSeconds: 10, retries: 0,
    }));
    let patched = '';
    const store: ConfigMapStore = { namespace: 'ns', read: () => Promise.resolve(undefined), mergePatch: (_n, d) => { patched = d.result; return Promise.resolve(); } };
    assert.equal(await evalMain(['--precision', 'fp32'], { MOE_EVAL_PLAN: planFile, MOE_EVAL_REPORT_CONFIGMAP: 'x-eval-report', MOE_NAMESPACE: 'ns' }, store), 0);
    const r = parseEvalResult(patched);
    assert.deepEqual(r.checkpoint, { step: 1, uri: `file://${step1Dir}` });
    assert.equal(r.scores[0].n, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
