// DualPipe's paired forward and backward run as two interleaved tasks (pp-trainer.ts, overlap on): the same losses
// and the same parameters, bit for bit, as the sequential order, while the backward's expert all-to-alls really run
// during the forward (on their own communicator).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { collectivesAvailable } from '../../../runtime/src/dist/collectives-binding.js';
import { launch } from '../../../runtime/src/dist/local-launch.js';
import type { Precision } from '../../../runtime/src/train/precision.js';
import { workerScript } from './paths.js';
import { need } from '../../util/need.js';

const skip = need(collectivesAvailable(), 'the Gloo collectives addon (runtime/collectives)', 'run `make native`') ? false : 'see the failing prerequisite test';

interface Out { rank: number; losses: number[]; sums: Record<string, number>; interleavedPairs: number; expertLoad: number[][] }

const cases = [
  // the demo's layout: one FB pair per rank and step
  { pp: 2, ep: 2, dp: 2, microBatches: 4, batch: 16, layers: 2, precision: 'fp32' as Precision, comm: { dispatch: 'fp32', combine: 'fp32' } },
  // four stages, eight micro-batches: several pairs per rank, some on the last stage (head, MTP)
  { pp: 4, ep: 2, dp: 1, microBatches: 8, batch: 16, layers: 4, precision: 'fp32' as Precision, comm: { dispatch: 'fp32', combine: 'fp32' } },
  // the recipe on the wire (FP8 dispatch, BF16 combine, BF16 backward all-to-all and pipeline)
  { pp: 2, ep: 2, dp: 2, microBatches: 4, batch: 16, layers: 2, precision: 'fp8' as Precision, comm: { dispatch: 'fp8', combine: 'bf16' } },
];

async function train(c: typeof cases[number], overlap: boolean): Promise<Out[]> {
  const { results } = await launch({
    script: workerScript(), worldSize: c.pp * c.ep * c.dp, args: ['pp-train'], killAfterMs: 180_000,
    env: {
      TEST_TRAIN: JSON.stringify({
        precision: c.precision, steps: 3, batch: c.batch, layers: c.layers, schedule: 'DualPipe', microBatches: c.microBatches,
        pp: c.pp, epSize: c.ep, ep: c.comm, overlap,
      }),
    },
  });
  for (const r of results) assert.equal(r.code, 0, `overlap ${overlap}: rank ${r.rank} exited ${r.code} ${r.signal ?? ''}: ${r.stderr}`);
  return results.map((r) => JSON.parse(r.stdout.trim().split('\n').pop()!) as Out);
}

for (const c of cases) {
  describe(`DualPipe PP=${c.pp} × EP=${c.ep} × DP=${c.dp}, ${c.precision}: paired chunks interleaved`, { skip }, () => {
    it('gives the sequential run\'s losses and parameters bit for bit, with the pairs really interleaved', async () => {
      const seq = await train(c, false);
      const ovl = await train(c, true);
      // Every rank has at least one FB pair per step; whether a pair's chunks mix depends on when its inputs arrive
      // (a pair whose backward is a short dense stage may finish before the forward reaches its first all-to-all).
      const mixed = ovl.reduce((a, o) => a + o.interleavedPairs, 0);
      assert.ok(mixed >= 3, `${mixed} interleaved pairs over ${ovl.length} ranks × 3 steps`);
      for (let r = 0; r < seq.length; r++) {
        assert.equal(seq[r]!.interleavedPairs, 0, `rank ${r}: the sequential run interleaved nothing`);
        assert.deepEqual(ovl[r]!.losses, seq[r]!.losses, `rank ${r} losses`);
        assert.deepEqual(ovl[r]!.sums, seq[r]!.sums, `rank ${r} parameter sums`);
      }
      assert.deepEqual(ovl[0]!.expertLoad, seq[0]!.expertLoad);
    });
  });
}
