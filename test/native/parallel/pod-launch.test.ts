// `moe-runtime train` as the operator runs it in pods of several GPUs: two "pods" (processes of the real CLI entry)
// with the contract env of a 2-pod × 2-GPU plan (EP=2 × DP=2; each pod given its first rank's env, LOCAL_RANK 0,
// LOCAL_WORLD_SIZE 2) each start their 2 ranks (comm/pod-launch.ts) and the 4 ranks train to the end. A rank killed
// mid-run takes its pod down with its exit code (137) and the other pod with its ranks' (75, EXIT_PEER_LOST), with no
// rank left running.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { collectivesAvailable } from '../../../runtime/src/comm/collectives-binding.js';
import { EXIT_PEER_LOST } from '../../../runtime/src/comm/watchdog.js';
import { launch } from '../../../runtime/src/comm/local-launch.js';
import type { ShardedManifest } from '../../../runtime/src/checkpoint/shard-reader.js';
import { microOverrides } from './train-fixture.js';
import { need } from '../../util/need.js';

const skip = need(collectivesAvailable(), 'the Gloo collectives addon (runtime/collectives)', 'run `make native`') ? false : 'see the failing prerequisite test';
const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../runtime/src/cli.js');

// rank = ep + 2·dp (the planner's order tp, ep, pp, dp): pod 0 holds ranks 0, 1 (dp 0), pod 1 ranks 2, 3 (dp 1).
const table = { order: 'tp,ep,pp,dp', pp: [0, 0, 0, 0], ep: [0, 1, 0, 1], dp: [0, 0, 1, 1], tp: [0, 0, 0, 0] };
const planDoc = (runDir: string, steps: number) => ({
  job: { namespace: 'test', name: 'pods', attempt: 0 },
  plan: { model: microOverrides, parallelism: { pipeline: { stages: 1, schedule: '1F1B', microBatches: 1 }, expert: 2, data: 2 }, rankTable: table },
  training: { steps, globalBatchSize: 4, sequenceLength: 8, seed: 7 },
  precision: { format: 'e4m3' },
  data: { format: 'synthetic' },
  checkpoint: { dir: runDir, intervalSteps: 0, keep: 2 },
});

/** The env the operator gives pod `pod` (its first rank's, as contractEnv writes it). */
const podEnv = (pod: number): Record<string, string> => {
  const r = 2 * pod;
  return {
    WORLD_SIZE: '4', RANK: String(r), NODE_RANK: String(pod), NNODES: '2', LOCAL_RANK: '0', LOCAL_WORLD_SIZE: '2',
    MOE_PP_RANK: String(table.pp[r]), MOE_EP_RANK: String(table.ep[r]), MOE_DP_RANK: String(table.dp[r]), MOE_TP_RANK: '0',
  };
};

/** Runs the two pods; `pids` fills with each rank's pid from its launcher's notes. */
function runPods(tmp: string, name: string, steps: number, onRank0Line?: (line: string, pids: Map<number, number>) => void) {
  const runDir = path.join(tmp, name);
  const planFile = path.join(tmp, `${name}-plan.json`);
  writeFileSync(planFile, JSON.stringify(planDoc(runDir, steps)));
  const pids = new Map<number, number>();
  const running = launch({
    script: cli, args: ['train'], worldSize: 2, killAfterMs: 240_000, rankEnv: podEnv,
    env: { MOE_PLAN: planFile, MOE_DIST_TIMEOUT_MS: '60000', MOE_DIST_STALL_MS: '30000', MOE_DIST_GRACE_MS: '1000', MOE_LAUNCH_GRACE_MS: '20000' },
    onSpawn: (_pod, child: ChildProcess) => child.stderr!.on('data', (d: Buffer) => {
      for (const m of d.toString().matchAll(/started rank (\d+) \(LOCAL_RANK \d+\) pid (\d+)/g)) pids.set(Number(m[1]), Number(m[2]));
    }),
    // Pod 0's stdout is its ranks' (inherited): rank 0's JSON lines.
    onLine: (pod, line) => {
      if (pod === 0) onRank0Line?.(line, pids);
    },
  });
  return { runDir, pids, running };
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('moe-runtime train in pods of 2 GPUs (the in-pod launcher)', { skip }, () => {
  it('two pods start 4 ranks that train to the end; every rank writes its checkpoint shard', async () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'moe-pod-launch-'));
    try {
      const { runDir, pids, running } = runPods(tmp, 'ok', 2);
      const { results } = await running;
      for (const r of results) assert.equal(r.code, 0, `pod ${r.rank} exited ${r.code} ${r.signal ?? ''}: ${r.stderr}`);
      assert.deepEqual([...pids.keys()].sort(), [0, 1, 2, 3], 'each pod started its two ranks');
      const lines = results[0]!.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.deepEqual(lines.filter((l) => l.msg === 'step').map((l) => l.step), [1, 2]);
      assert.equal(lines.find((l) => l.msg === 'done')?.step, 2);
      // The final checkpoint holds one shard from each of the 4 ranks (sharded-checkpoint.ts).
      const step = readdirSync(path.join(runDir, 'checkpoints')).find((d) => /^step-0*2$/.test(d));
      assert.ok(step, `checkpoints: ${readdirSync(path.join(runDir, 'checkpoints'))}`);
      const manifest = JSON.parse(readFileSync(path.join(runDir, 'checkpoints', step, 'manifest.json'), 'utf8')) as ShardedManifest;
      assert.equal(manifest.worldSize, 4);
      assert.deepEqual(manifest.files.map((f) => f.rank).sort(), [0, 1, 2, 3], JSON.stringify(manifest).slice(0, 400));
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('a killed rank ends its pod with its exit code and the other pod with EXIT_PEER_LOST; no rank is left running', async () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'moe-pod-launch-'));
    try {
      let killed = false;
      // Rank 3 (pod 1, LOCAL_RANK 1) dies once rank 0 has logged step 1, as an OOM kill would.
      const { pids, running } = runPods(tmp, 'faulty', 20, (line, p) => {
        if (!killed && line.includes('"msg":"step"')) {
          killed = true;
          process.kill(p.get(3)!, 'SIGKILL');
        }
      });
      const { results } = await running;
      assert.ok(killed, `rank 0 never logged a step: ${results[0]!.stderr}`);
      assert.equal(results[1]!.code, 137, `pod 1 (rank 3 killed): ${results[1]!.stderr}`);
      assert.match(results[1]!.stderr, /rank 3 exited 137 \(SIGKILL\): stopping ranks 2/);
      assert.equal(results[0]!.code, EXIT_PEER_LOST, `pod 0: ${results[0]!.stderr}`);
      assert.equal(pids.size, 4);
      assert.deepEqual([...pids.values()].filter(alive), [], 'every rank has exited with its pod');
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
