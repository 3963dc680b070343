// The pod entrypoint (runtime/src/parallel/main.ts) end to end over local processes, with the plan document the operator
// mounts: DualPipe PP=2 × EP=2 over 4 ranks. A rank killed mid-run brings every rank down non-zero naming it; the
// restarted gang resumes from the last sharded checkpoint and finishes with exactly the uninterrupted run's losses.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { collectivesAvailable } from '../../../runtime/src/comm/collectives-binding.js';
import { EXIT_PEER_LOST } from '../../../runtime/src/comm/watchdog.js';
import { launch, type LaunchOptions } from '../../../runtime/src/comm/local-launch.js';
import { microOverrides } from './train-fixture.js';
import { need } from '../../util/need.js';

const skip = need(collectivesAvailable(), 'the Gloo collectives addon (runtime/collectives)', 'run `make native`') ? false : 'see the failing prerequisite test';
const main = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../runtime/src/parallel/main.js');

// rank = ep + EP·pp (the planner's order tp, ep, pp, dp with tp = dp = 1)
const planDoc = (runDir: string) => ({
  job: { namespace: 'test', name: 'pp2ep2', attempt: 0 },
  plan: {
    model: microOverrides,
    parallelism: { pipeline: { stages: 2, schedule: 'DualPipe', microBatches: 4 }, expert: 2, data: 1 },
    rankTable: { order: 'tp,ep,pp,dp', pp: [0, 0, 1, 1], ep: [0, 1, 0, 1], dp: [0, 0, 0, 0], tp: [0, 0, 0, 0] },
  },
  training: { steps: 8, globalBatchSize: 8, sequenceLength: 8, seed: 7 },
  precision: { format: 'e4m3' },
  data: { format: 'synthetic' },
  checkpoint: { dir: runDir, intervalSteps: 2, keep: 3 },
});

function stepLosses(stdout: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const l of stdout.split('\n')) {
    if (!l.startsWith('{')) continue;
    const j = JSON.parse(l);
    if (j.msg === 'step') out.set(j.step, j.loss);
  }
  return out;
}

describe('distributed entrypoint with a plan document', { skip }, () => {
  it('a killed rank stops the gang; the restarted gang resumes and matches the uninterrupted losses', async () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'moe-dist-main-'));
    try {
      const job = (name: string, restart: number, extra: Partial<LaunchOptions> = {}) => {
        const runDir = path.join(tmp, name);
        const planFile = path.join(tmp, `${name}-plan.json`);
        writeFileSync(planFile, JSON.stringify(planDoc(runDir)));
        return launch({
          script: main, worldSize: 4, killAfterMs: 180_000,
          env: { MOE_PLAN: planFile, MOE_RESTART: String(restart), MOE_DIST_TIMEOUT_MS: '30000', MOE_DIST_STALL_MS: '20000', MOE_DIST_GRACE_MS: '1000' },
          ...extra,
        });
      };
      const full = await job('full', 0);
      for (const r of full.results) assert.equal(r.code, 0, `uninterrupted rank ${r.rank}: ${r.stderr}`);
      const expected = stepLosses(full.results.find((r) => r.rank === 0)!.stdout);
      assert.deepEqual([...expected.keys()], [1, 2, 3, 4, 5, 6, 7, 8]);
      // Rank 0's export is the whole model although no rank holds it: expert 7 lives only on EP rank 1 (ranks 1, 3).
      const index = JSON.parse(readFileSync(path.join(tmp, 'full', 'export', 'model.safetensors.index.json'), 'utf8'));
      for (const l of [1, 2]) {
        for (const w of ['gate_proj', 'up_proj', 'down_proj']) {
          const name = `model.layers.${l}.mlp.experts.7.${w}.weight`;
          // (No _scale_inv: the micro model's projections are smaller than one 128×128 block, so they export as BF16.)
          assert.ok(index.weight_map[name], `export lacks ${name}`);
          assert.ok(existsSync(path.join(tmp, 'full', 'export', index.weight_map[name])));
        }
      }

      // Kill rank 3 once rank 0 has logged step 5 (the last checkpoint is step 4).
      let victim: import('node:child_process').ChildProcess | undefined;
      const broken = await job('faulty', 0, {
        onSpawn: (rank, child) => {
          if (rank === 3) victim = child;
        },
        onLine: (rank, line) => {
          if (rank === 0 && line.includes('"msg":"step"') && JSON.parse(line).step === 5) victim?.kill('SIGKILL');
        },
      });
      const byRank = new Map(broken.results.map((r) => [r.rank, r]));
      assert.equal(byRank.get(3)!.signal, 'SIGKILL');
      for (const r of [0, 1, 2]) {
        assert.equal(byRank.get(r)!.code, EXIT_PEER_LOST, `rank ${r}: ${byRank.get(r)!.stderr}`);
        assert.match(byRank.get(r)!.stderr, /rank 3 lost/);
      }

      // Gang restart into the same run directory (rerunning the faulty job's plan).
      const resumed = await job('faulty', 1);
      for (const r of resumed.results) assert.equal(r.code, 0, `resumed rank ${r.rank}: ${r.stderr}`);
      const out0 = resumed.results.find((r) => r.rank === 0)!.stdout;
      const resumedAt = JSON.parse(out0.split('\n').find((l) => l.includes('"msg":"resumed"'))!).step as number;
      assert.ok(resumedAt >= 4 && resumedAt <= 6, `resumed from step ${resumedAt}`);
      const after = stepLosses(out0);
      for (let s = resumedAt + 1; s <= 8; s++) assert.equal(after.get(s), expected.get(s), `step ${s}`);
      assert.deepEqual([...after.keys()].sort((a, b) => a - b)[0], resumedAt + 1, 'steps lost are at most the checkpoint interval');
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
