// Sharded checkpoints: every rank writes its own shard, rank 0 commits the manifest last, and a resumed job
// continues with exactly the losses of an uninterrupted one.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { collectivesAvailable } from '../../../runtime/src/comm/collectives-binding.js';
import { launch } from '../../../runtime/src/comm/local-launch.js';
import { workerScript } from './paths.js';
import { need } from '../../util/need.js';

const skip = need(collectivesAvailable(), 'the Gloo collectives addon (runtime/collectives)', 'run `make native`') ? false : 'see the failing prerequisite test';

interface Layout { name: string; world: number; extra: Record<string, unknown> }
const layouts: Layout[] = [
  { name: 'ZeRO-1 DP=2', world: 2, extra: {} },
  { name: 'DualPipe PP=2 × EP=2', world: 4, extra: { pp: 2, epSize: 2, schedule: 'DualPipe', microBatches: 4, batch: 8, ep: { dispatch: 'fp8', combine: 'bf16' } } },
];

async function launchCkpt(world: number, spec: Record<string, unknown>) {
  return launch({ script: workerScript(), worldSize: world, args: ['ckpt'], killAfterMs: 120_000, env: { TEST_TRAIN: JSON.stringify(spec) } });
}

async function run(world: number, spec: Record<string, unknown>): Promise<Array<{ rank: number; resumedFrom: number; losses: Record<string, number> }>> {
  const { results } = await launchCkpt(world, spec);
  for (const r of results) assert.equal(r.code, 0, `rank ${r.rank} exited ${r.code} ${r.signal ?? ''}: ${r.stderr}`);
  return results.map((r) => JSON.parse(r.stdout.trim().split('\n').pop()!));
}

for (const l of layouts) {
  describe(`sharded checkpoints, ${l.name}`, { skip }, () => {
    it('writes one shard per rank with the manifest last, and resumes to the uninterrupted losses', async () => {
      const tmp = mkdtempSync(path.join(os.tmpdir(), 'moe-dist-ckpt-'));
      try {
        const base = { precision: 'fp8', batch: 4, every: 3, ...l.extra };
        const full = await run(l.world, { ...base, steps: 6, runDir: path.join(tmp, 'full') });
        // A run that stops after step 4 (its checkpoint is step 3), then a new job resuming in the same directory.
        const runDir = path.join(tmp, 'resumed');
        await run(l.world, { ...base, steps: 6, stopAt: 4, runDir });
        const ckdir = path.join(runDir, 'checkpoints');
        assert.deepEqual(readdirSync(ckdir).sort(), ['step-00000003'], 'only committed step directories remain');
        const files = readdirSync(path.join(ckdir, 'step-00000003')).sort();
        assert.deepEqual(files, ['manifest.json', ...Array.from({ length: l.world }, (_, r) => `rank-${String(r).padStart(5, '0')}.safetensors`)]);
        const manifest = JSON.parse(readFileSync(path.join(ckdir, 'step-00000003', 'manifest.json'), 'utf8'));
        assert.equal(manifest.step, 3);
        assert.equal(manifest.worldSize, l.world);
        const resumed = await run(l.world, { ...base, steps: 6, runDir });
        for (const r of resumed) {
          assert.equal(r.resumedFrom, 3, `rank ${r.rank} resumed from step 3`);
          for (const s of [4, 5, 6]) assert.equal(r.losses[s], full[0].losses[s], `rank ${r.rank} step ${s}`);
        }
        assert.ok(existsSync(path.join(ckdir, 'step-00000006', 'manifest.json')));
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
    });
  });
}
