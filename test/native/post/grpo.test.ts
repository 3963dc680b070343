// GRPO end to end in processes (the micro model, the byte tokenizer, addition prompts with a boxed reward):
//  - single process: an interrupted run resumed from its checkpoint gives exactly the uninterrupted run's metrics
//    (same prompts from the saved data position, same rollouts from the step-derived sampler seeds); a reward that
//    times out scores 0 and is counted in the step's metrics;
//  - the distributed entrypoint (parallel/main.ts) with DP = 2 (ZeRO-1) and the plan document the operator writes:
//    its first step's rollouts and rewards equal the single-process run's (seeds are numbered across the step), the
//    run finishes with an export; a pipeline layout is refused naming the fix.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { collectivesAvailable } from '../../../runtime/src/comm/collectives-binding.js';
import { launch } from '../../../runtime/src/comm/local-launch.js';
import { runGrpo } from '../../../runtime/src/post/run-grpo.js';
import { grpoSettings } from '../../../runtime/src/post/settings.js';
import { defaultTrainOptions } from '../../../runtime/src/train/options.js';
import { microOverrides } from '../parallel/train-fixture.js';
import { need } from '../../util/need.js';

const main = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../runtime/src/parallel/main.js');
const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../runtime/src/cli.js');
const grpoSpec = { groupSize: 4, promptsPerStep: 4, maxNewTokens: 6, temperature: 1, topP: 1, rewards: [{ type: 'boxed' as const }, { type: 'regex' as const, pattern: '^[0-9]', weight: 0.5 }] };

function prompts(dir: string): string {
  const f = path.join(dir, 'prompts.jsonl');
  const lines: string[] = [];
  for (let i = 0; i < 12; i++) lines.push(JSON.stringify({ prompt: `${10 + i}+${20 + 3 * i}=`, reference: String(30 + 4 * i) }));
  writeFileSync(f, lines.join('\n') + '\n');
  return f;
}

const opts = (steps: number) => defaultTrainOptions({
  steps, batch: 1, seqLen: 16, precision: 'fp8', overrides: microOverrides, checkpointEvery: 2, seed: 11,
  optimizer: { ...defaultTrainOptions().optimizer, lr: 1e-2, minLr: 1e-2, warmupSteps: 0, totalSteps: steps },
});

/** metrics.jsonl's last line for each step, without the wall-clock field. */
function metricsByStep(runDir: string): Map<number, Record<string, unknown>> {
  const out = new Map<number, Record<string, unknown>>();
  for (const l of readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').split('\n')) {
    if (!l) continue;
    const { seconds: _s, ...m } = JSON.parse(l) as Record<string, unknown>;
    out.set(m.step as number, m);
  }
  return out;
}

const quiet = { info: () => {}, warn: () => {} };

describe('GRPO in processes', () => {
  it('moe-runtime train --mode grpo from flags; bad prompt data and bad flags are named', async () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'moe-grpo-cli-'));
    try {
      const file = prompts(tmp);
      const run = (...args: string[]) => spawnSync(process.execPath, [cli, 'train', '--mode', 'grpo', '--run-dir', path.join(tmp, 'run'), '--precision', 'fp32', '--seq-len', '16', '--steps', '2', '--json',
        '--model-overrides', JSON.stringify(microOverrides), ...args], { encoding: 'utf8', env: { ...process.env, MOE_RESUME_FROM: 'none' } });
      const ok = run('--data', file, '--grpo', JSON.stringify(grpoSpec));
      assert.equal(ok.status, 0, ok.stderr + ok.stdout);
      const lines = readFileSync(path.join(tmp, 'run', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      assert.deepEqual(lines.map((l) => [l.mode, l.step]), [['grpo', 1], ['grpo', 2]]);
      assert.equal(lines[0].samples, 16);
      writeFileSync(path.join(tmp, 'bad.jsonl'), '{"prompt":"1+1=","reference":"2"}\n{"prompt": 3}\n');
      const bad = run('--data', path.join(tmp, 'bad.jsonl'), '--grpo', JSON.stringify(grpoSpec));
      assert.notEqual(bad.status, 0);
      assert.match(bad.stderr + bad.stdout, /bad\.jsonl:2: missing "prompt"/);
      const long = run('--data', file, '--grpo', JSON.stringify({ ...grpoSpec, maxNewTokens: 12 }));
      assert.match(long.stderr + long.stdout, /prompts\.jsonl:1: the prompt is 6 tokens, longer than the limit of 4 \(training\.sequenceLength 16 minus training\.grpo\.maxNewTokens 12\)/);
      const flag = run('--data', file, '--grpo', '{groupSize: 8}');
      assert.match(flag.stderr + flag.stdout, /--grpo must be the JSON of spec\.training\.grpo/);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('an interrupted run resumed from its checkpoint gives the uninterrupted metrics exactly', async () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'moe-grpo-'));
    try {
      const file = prompts(tmp);
      const s = grpoSettings(grpoSpec);
      await runGrpo(opts(4), s, file, path.join(tmp, 'full'), quiet, {});
      const full = metricsByStep(path.join(tmp, 'full'));
      assert.deepEqual([...full.keys()], [1, 2, 3, 4]);
      // Something was learned from: some group had signal, and the policy moved away from the reference.
      assert.ok([...full.values()].some((m) => (m.signalFraction as number) > 0), JSON.stringify([...full.values()]));
      assert.ok((full.get(4)!.kl as number) > 0);
      // Interrupted after step 3 was logged (its checkpoint is step 2), then started again on the same folder.
      const part = path.join(tmp, 'part');
      await assert.rejects(runGrpo(opts(4), s, file, part, { ...quiet, onStep: (m) => { if (m.step === 3) throw new Error('interrupted'); } }, {}), /interrupted/);
      await runGrpo(opts(4), s, file, part, quiet, {});
      const resumed = metricsByStep(part);
      assert.deepEqual(resumed, full);
      // It resumed at step 3 (not from step 0, which would also repeat the metrics): step 3 is logged twice, 1 and 2 once.
      const logged = readFileSync(path.join(part, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step);
      assert.deepEqual(logged, [1, 2, 3, 3, 4]);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('a reward that times out scores 0 and is counted in the step\'s metrics and log; the run goes on', async () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'moe-grpo-timeout-'));
    try {
      // The program is "/* q<response>*/ for (;;) {}": the response sits in a comment and the tests never end, so every
      // candidate runs into the 1 s limit.
      const file = path.join(tmp, 'hang.jsonl');
      writeFileSync(file, ['1+1=', '2+2='].map((p) => JSON.stringify({ prompt: `/* ${p}`, reference: '*/ for (;;) {}', language: 'javascript' })).join('\n') + '\n');
      const warnings: string[] = [];
      const s = grpoSettings({ groupSize: 2, promptsPerStep: 2, maxNewTokens: 4, rewards: [{ type: 'code', timeoutSeconds: 1 }, { type: 'regex', pattern: '^', weight: 0.25 }] });
      await runGrpo(opts(2), s, file, path.join(tmp, 'run'), { info: () => {}, warn: (m) => warnings.push(m) }, {});
      const m = metricsByStep(path.join(tmp, 'run'));
      assert.deepEqual([...m.keys()], [1, 2]);
      for (const x of m.values()) {
        // 4 samples a step, each code evaluation timed out (scored 0); the regex still gave its 0.25.
        assert.equal(x.rewardErrors, 4);
        assert.equal(x.rewardMean, 0.25);
      }
      assert.match(warnings.join('\n'), /step 1: 4 reward evaluation\(s\) failed and scored 0: code reward took longer than 1 s/);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('held-out prompts: their greedy reward at the start and at each checkpoint, from runGrpo and from --held-out; a long one is refused by file and line', async () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'moe-grpo-held-'));
    try {
      const file = prompts(tmp);
      const heldFile = path.join(tmp, 'held.jsonl');
      writeFileSync(heldFile, ['5+6=', '7+8=', '9+9='].map((p) => JSON.stringify({ prompt: p, reference: 'no model says this' })).join('\n') + '\n');
      // Every response scores 0.5 (the regex matches anything; the exact match never): the held-out mean is 0.5.
      const rewards = [{ type: 'regex' as const, pattern: '^', weight: 0.5 }, { type: 'exactMatch' as const }];
      await runGrpo(opts(4), { ...grpoSettings({ ...grpoSpec, rewards }), heldOutPath: heldFile }, file, path.join(tmp, 'run'), quiet, {});
      const rows = readFileSync(path.join(tmp, 'run', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      const held = rows.filter((r) => r.heldOutReward !== undefined);
      assert.deepEqual(held.map((r) => [r.mode, r.step, r.heldOutReward, r.prompts, r.errors]), [['grpo', 0, 0.5, 3, 0], ['grpo', 2, 0.5, 3, 0], ['grpo', 4, 0.5, 3, 0]]);
      assert.deepEqual(rows.filter((r) => r.rewardMean !== undefined).map((r) => r.step), [1, 2, 3, 4]);
      // The CLI flag; and a held-out prompt that does not fit is refused naming the held-out file's line.
      writeFileSync(path.join(tmp, 'long.jsonl'), `{"prompt":"1+1=","reference":"2"}\n${JSON.stringify({ prompt: 'x'.repeat(40), reference: '1' })}\n`);
      const cli1 = (held: string, dir: string) => spawnSync(process.execPath, [cli, 'train', '--mode', 'grpo', '--run-dir', path.join(tmp, dir), '--precision', 'fp32', '--seq-len', '16', '--steps', '1', '--json',
        '--model-overrides', JSON.stringify(microOverrides), '--data', file, '--held-out', held, '--grpo', JSON.stringify({ ...grpoSpec, rewards })], { encoding: 'utf8', env: { ...process.env, MOE_RESUME_FROM: 'none' } });
      const ok = cli1(heldFile, 'cli');
      assert.equal(ok.status, 0, ok.stderr + ok.stdout);
      assert.deepEqual(readFileSync(path.join(tmp, 'cli', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((r) => r.heldOutReward !== undefined).map((r) => [r.step, r.heldOutReward]), [[0, 0.5], [1, 0.5]]);
      const long = cli1(path.join(tmp, 'long.jsonl'), 'cli-long');
      assert.notEqual(long.status, 0);
      assert.match(long.stderr + long.stdout, /long\.jsonl:2: the prompt is 40 tokens, longer than the limit of 10/);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  const skip = need(collectivesAvailable(), 'the Gloo collectives addon (runtime/collectives)', 'run `make native`') ? false : 'see the failing prerequisite test';
  it('DP = 2 through the pod entrypoint: the first step equals the single-process one; pipeline layouts are refused', { skip }, async () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'moe-grpo-dist-'));
    try {
      const file = prompts(tmp);
      await runGrpo(opts(3), grpoSettings(grpoSpec), file, path.join(tmp, 'single'), quiet, {});
      const single = metricsByStep(path.join(tmp, 'single'));
      const plan = (name: string, stages: number) => {
        const f = path.join(tmp, `${name}.json`);
        writeFileSync(f, JSON.stringify({
          job: { namespace: 'test', name, attempt: 0 },
          plan: {
            model: microOverrides,
            parallelism: { pipeline: { stages, schedule: '1F1B', microBatches: 2 }, expert: 1, data: 2 / stages },
            rankTable: { pp: stages === 2 ? [0, 1] : [0, 0], ep: [0, 0], dp: stages === 2 ? [0, 0] : [0, 1], tp: [0, 0] },
          },
          training: { mode: 'grpo', steps: 3, globalBatchSize: 2, sequenceLength: 16, seed: 11, optimizer: { learningRate: 1e-2, minLearningRate: 1e-2, warmupSteps: 0 }, grpo: grpoSpec },
          precision: { format: 'e4m3' },
          data: { format: 'prompts', uri: file, heldOutUri: `file://${file}` },
          checkpoint: { dir: path.join(tmp, name), intervalSteps: 2, keep: 2 },
        }));
        return f;
      };
      const env = { MOE_DIST_TIMEOUT_MS: '30000', MOE_DIST_STALL_MS: '60000', MOE_DIST_GRACE_MS: '1000' };
      const dp = await launch({ script: main, worldSize: 2, killAfterMs: 240_000, env: { ...env, MOE_PLAN: plan('dp2', 1) } });
      for (const r of dp.results) assert.equal(r.code, 0, `rank ${r.rank}: ${r.stderr}`);
      const steps = dp.results.find((r) => r.rank === 0)!.stdout.split('\n').filter((l) => l.includes('"msg":"step"')).map((l) => JSON.parse(l));
      assert.deepEqual(steps.map((m) => m.step), [1, 2, 3]);
      // data.heldOutUri: rank 0 measured the held-out reward at the start and the end (here the training prompts).
      const held = dp.results.find((r) => r.rank === 0)!.stdout.split('\n').filter((l) => l.includes('"held-out reward"')).map((l) => JSON.parse(l));
      assert.deepEqual(held.map((h) => [h.step, h.prompts]), [[0, 12], [3, 12]]);
      assert.ok(held.every((h) => h.heldOutReward >= 0 && h.heldOutReward <= 1.5), JSON.stringify(held));
      const first = single.get(1)!;
      for (const k of ['rewardMean', 'rewardStd', 'responseLength', 'signalFraction', 'samples']) assert.equal(steps[0][k], first[k], k);
      assert.ok(Math.abs(steps[0].loss - (first.loss as number)) < 1e-6, `${steps[0].loss} vs ${first.loss}`);
      assert.ok(existsSync(path.join(tmp, 'dp2', 'export', 'config.json')));
      const pp = await launch({ script: main, worldSize: 2, killAfterMs: 60_000, env: { ...env, MOE_PLAN: plan('pp2', 2) } });
      for (const r of pp.results) {
        assert.notEqual(r.code, 0);
        assert.match(r.stderr, /training\.mode grpo needs every rank to hold the whole model.*set parallelism\.pipeline\.stages 1 and parallelism\.expert 1/);
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
