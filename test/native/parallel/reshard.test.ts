// Checkpoints load under another parallel layout (issue 13 §1): resharding on load. A state written by 8 ranks
// (DualPipe PP=2 × EP=2 × DP=2) is resumed by 2 (ZeRO-1 DP=2) and written again, then resumed by the 8-rank layout and
// written again: every parameter, AdamW moment and router bias, the step and the data position come back bit for bit.
// Initialising (weights only) takes the weights and biases with a fresh optimizer at step 0.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { collectivesAvailable } from '../../../runtime/src/comm/collectives-binding.js';
import { launch } from '../../../runtime/src/comm/local-launch.js';
import { workerScript } from './paths.js';
import { firstDifference, wholeState } from './ckpt-state.js';
import { need } from '../../util/need.js';

const skip = need(collectivesAvailable(), 'the Gloo collectives addon (runtime/collectives)', 'run `make native`') ? false : 'see the failing prerequisite test';

const big = { world: 8, extra: { pp: 2, epSize: 2, schedule: 'DualPipe', microBatches: 4, ep: { dispatch: 'fp32', combine: 'fp32' } } };
const small = { world: 2, extra: {} };

async function run(world: number, spec: Record<string, unknown>, env: Record<string, string> = {}) {
  const { results } = await launch({ script: workerScript(), worldSize: world, args: ['ckpt'], killAfterMs: 90_000, env: { TEST_TRAIN: JSON.stringify(spec), ...env } });
  for (const r of results) assert.equal(r.code, 0, `rank ${r.rank} exited ${r.code} ${r.signal ?? ''}: ${r.stderr}`);
  return results.map((r) => JSON.parse(r.stdout.trim().split('\n').pop()!) as { rank: number; resumedFrom: number; start: { kind: string; step?: number; writerRanks?: number } });
}

describe('resharding on load', { skip }, () => {
  it('8 ranks → 2 ranks → 8 ranks: the whole training state survives bit for bit', async () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'moe-reshard-'));
    try {
      const dir = (n: string) => path.join(tmp, n);
      const base = { precision: 'fp32', batch: 16, every: 2, steps: 4 };
      await run(big.world, { ...base, ...big.extra, stopAt: 2, runDir: dir('a') });
      // 2 ranks resume the 8-rank checkpoint and write it back at once (no step in between) in their own layout.
      const b = await run(small.world, { ...base, ...small.extra, stopAt: 2, saveAtStart: true, runDir: dir('b') }, { MOE_RESUME_FROM: `file://${dir('a')}` });
      for (const r of b) assert.deepEqual([r.start.kind, r.start.step, r.start.writerRanks], ['resumed', 2, 8], `rank ${r.rank}`);
      const c = await run(big.world, { ...base, ...big.extra, stopAt: 2, saveAtStart: true, runDir: dir('c') }, { MOE_RESUME_FROM: dir('b') });
      for (const r of c) assert.deepEqual([r.start.kind, r.start.step, r.start.writerRanks], ['resumed', 2, 2], `rank ${r.rank}`);
      const [sa, sb, sc] = ['a', 'b', 'c'].map((n) => wholeState(path.join(dir(n), 'checkpoints', 'step-00000002'), 2));
      assert.deepEqual([sa!.writers, sb!.writers, sc!.writers], [8, 2, 8]);
      assert.equal(firstDifference(sa!, sb!), undefined, '8 → 2 ranks changed a tensor');
      assert.equal(firstDifference(sa!, sc!), undefined, '8 → 2 → 8 ranks changed a tensor');
      for (const k of ['step', 'data_epoch', 'data_index']) assert.equal(sc!.metadata[k], sa!.metadata[k], k);
      // The resharded job trains on from there.
      await run(small.world, { ...base, ...small.extra, runDir: dir('b') });
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('init (weights only) from another layout: the weights and biases, a fresh optimizer, step 0', async () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'moe-reshard-'));
    try {
      const dir = (n: string) => path.join(tmp, n);
      const base = { precision: 'fp32', batch: 16, every: 2, steps: 4 };
      await run(big.world, { ...base, ...big.extra, stopAt: 2, runDir: dir('a') });
      const b = await run(small.world, { ...base, ...small.extra, stopAt: 0, saveAtStart: true, runDir: dir('b') }, { MOE_INIT_URI: `file://${dir('a')}` });
      for (const r of b) assert.deepEqual([r.start.kind, r.start.step, r.resumedFrom], ['initialised', 2, 0], `rank ${r.rank}`);
      const sa = wholeState(path.join(dir('a'), 'checkpoints', 'step-00000002'), 2);
      const sb = wholeState(path.join(dir('b'), 'checkpoints', 'step-00000000'), 0);
      for (const [k, v] of sa.tensors) {
        const got = sb.tensors.get(k)!;
        if (k.startsWith('m:') || k.startsWith('v:')) assert.ok(got.every((x) => x === 0), `${k}: the optimizer starts fresh`);
        else assert.ok(Buffer.from(got).equals(Buffer.from(v)), `${k}: the weights come from the checkpoint`);
      }
      assert.deepEqual([sb.metadata.step, sb.metadata.data_epoch, sb.metadata.data_index], ['0', '0', '0']);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
