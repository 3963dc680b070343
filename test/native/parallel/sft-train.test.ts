// SFT in every distributed layout reproduces the single-process run: masked, packed chat batches (segment ids,
// assistant-only loss, MTP targets masked across samples, padding) through ZeRO-1 DP, expert parallelism and the
// pipeline schedules give the single process's loss at every step and its parameters. The per-token objective is
// cut per data-parallel rank and micro-batch (model/token-batch.ts sliceBatch) and each slice weighted so the
// engines' averaging gives the whole batch's mean over its assistant tokens.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { collectivesAvailable } from '../../../runtime/src/comm/collectives-binding.js';
import { Trainer } from '../../../runtime/src/train/trainer.js';
import { byteTokenizer } from '../../../runtime/src/data/tokenizer.js';
import type { ScheduleName } from '../../../operator/plan/schedule/ops.js';
import type { EpOptions } from '../../../runtime/src/parallel/moe-ep.js';
import { launch } from '../../../runtime/src/comm/local-launch.js';
import { workerScript } from './paths.js';
import { fixtureChat, fixtureOptions } from './train-fixture.js';
import { assertHoldersAgree } from './holders.js';
import { need } from '../../util/need.js';

const skip = need(collectivesAvailable(), 'the Gloo collectives addon (runtime/collectives)', 'run `make native`') ? false : 'see the failing prerequisite test';
// fp32 throughout: the layouts change only the order in which gradients and loss slices are summed.
const TOLERANCE = 1e-6;
const fp32: EpOptions = { dispatch: 'fp32', combine: 'fp32' };

interface Case { name: string; ranks: number; args: 'dp-train' | 'pp-train'; batch: number; layers: number; sft: 'packed' | 'padded';
  pp?: number; epSize?: number; ep?: EpOptions; schedule?: ScheduleName; microBatches?: number }
const cases: Case[] = [
  { name: 'ZeRO-1 DP=2, packed', ranks: 2, args: 'dp-train', batch: 4, layers: 2, sft: 'packed' },
  { name: 'ZeRO-1 DP=2, padded (no packing)', ranks: 2, args: 'dp-train', batch: 4, layers: 2, sft: 'padded' },
  { name: 'EP=2, packed', ranks: 2, args: 'dp-train', batch: 4, layers: 2, sft: 'packed', ep: fp32, epSize: 2 },
  { name: '1F1B PP=2, 4 micro-batches, packed', ranks: 2, args: 'pp-train', batch: 4, layers: 2, sft: 'packed', pp: 2, schedule: '1F1B', microBatches: 4 },
  { name: 'ZB1P PP=2, 4 micro-batches, packed', ranks: 2, args: 'pp-train', batch: 4, layers: 2, sft: 'packed', pp: 2, schedule: 'ZB1P', microBatches: 4 },
  { name: 'DualPipeV PP=2, 4 layers, packed', ranks: 2, args: 'pp-train', batch: 4, layers: 4, sft: 'packed', pp: 2, schedule: 'DualPipeV', microBatches: 4 },
  { name: 'DualPipe PP=2 × EP=2 × DP=2 (the demo layout), packed', ranks: 8, args: 'pp-train', batch: 16, layers: 2, sft: 'packed', pp: 2, schedule: 'DualPipe', microBatches: 4, ep: fp32, epSize: 2 },
];

for (const c of cases) {
  describe(`SFT over ${c.name}`, { skip }, () => {
    it('matches the single-process loss at every step and its parameters', async () => {
      const steps = 3;
      const single = new Trainer(fixtureOptions('fp32', steps, c.batch, c.layers), byteTokenizer, fixtureChat(c.sft === 'packed'));
      const expected = Array.from({ length: steps }, () => single.trainStep().loss);
      const { results } = await launch({
        script: workerScript(), worldSize: c.ranks, args: [c.args], killAfterMs: 180_000,
        env: {
          TEST_TRAIN: JSON.stringify({
            precision: 'fp32', steps, batch: c.batch, layers: c.layers, sft: c.sft,
            ...(c.pp ? { pp: c.pp, schedule: c.schedule, microBatches: c.microBatches } : {}),
            ...(c.ep ? { ep: c.ep, epSize: c.epSize } : {}),
          }),
        },
      });
      for (const r of results) assert.equal(r.code, 0, `rank ${r.rank} exited ${r.code} ${r.signal ?? ''}: ${r.stderr}`);
      const outs = results.map((r) => JSON.parse(r.stdout.trim().split('\n').pop()!));
      let worst = 0;
      for (const o of outs) {
        assert.equal(o.losses.length, steps);
        for (let s = 0; s < steps; s++) {
          const rel = Math.abs(o.losses[s] - expected[s]) / Math.abs(expected[s]);
          worst = Math.max(worst, rel);
          assert.ok(rel < TOLERANCE, `rank ${o.rank} step ${s + 1}: loss ${o.losses[s]} vs single-process ${expected[s]} (rel ${rel.toExponential(2)})`);
        }
      }
      assertHoldersAgree(outs);
      let sum = 0, scale = 0;
      for (const p of single.params.list()) for (let i = 0; i < p.data.length; i++) { sum += p.data[i]!; scale += Math.abs(p.data[i]!); }
      assert.ok(Math.abs(outs[0].fullSum - sum) <= 1e-5 * scale, `rank 0 gathered parameter sum ${outs[0].fullSum} vs single-process ${sum} (scale ${scale})`);
      process.stdout.write(`# SFT ${c.name}: worst relative loss difference ${worst.toExponential(2)}; losses ${expected.map((x) => x.toFixed(4)).join(', ')}\n`);
    });
  });
}

it('the SFT fixture has masked positions, several samples a window and padding (so the cases above test them)', () => {
  const b = fixtureChat(true).nextBatch(4);
  const segs = new Set(Array.from(b.segments!));
  assert.ok(segs.has(-1) && segs.has(0) && segs.has(1), `segments ${[...segs]}`);
  const w = b.objective!.main(new Float64Array(4 * 8)).dlogp;
  assert.ok(w.some((x) => x === 0) && w.some((x) => x !== 0));
});
