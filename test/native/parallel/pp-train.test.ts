// Pipeline parallelism driven by the planner's schedules reproduces the single-process run's loss at every step.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { collectivesAvailable } from '../../../runtime/src/comm/collectives-binding.js';
import { Trainer } from '../../../runtime/src/train/trainer.js';
import { byteTokenizer } from '../../../runtime/src/data/tokenizer.js';
import type { ScheduleName } from '../../../operator/plan/schedule/ops.js';
import type { EpOptions } from '../../../runtime/src/parallel/moe-ep.js';
import { launch } from '../../../runtime/src/comm/local-launch.js';
import { workerScript } from './paths.js';
import { fixtureOptions, fixtureTokens } from './train-fixture.js';
import { assertHoldersAgree } from './holders.js';
import { need } from '../../util/need.js';

const skip = need(collectivesAvailable(), 'the Gloo collectives addon (runtime/collectives)', 'run `make native`') ? false : 'see the failing prerequisite test';
// fp32: the pipeline only changes the order in which micro-batch gradients are summed.
const TOLERANCE = 1e-6;

interface Case { schedule: ScheduleName; pp: number; ep: number; dp: number; microBatches: number; batch: number; layers: number; comm?: EpOptions }
const fp32: EpOptions = { dispatch: 'fp32', combine: 'fp32' };
const cases: Case[] = [
  { schedule: '1F1B', pp: 2, ep: 1, dp: 1, microBatches: 4, batch: 4, layers: 2 },
  { schedule: 'DualPipe', pp: 2, ep: 1, dp: 1, microBatches: 4, batch: 4, layers: 2 },
  { schedule: 'DualPipe', pp: 4, ep: 1, dp: 1, microBatches: 8, batch: 8, layers: 4 },
  { schedule: 'DualPipeV', pp: 2, ep: 1, dp: 1, microBatches: 4, batch: 4, layers: 4 },
  // PP2 × EP2 (the routed experts split over the EP ranks of each pipeline rank), float32 on the wire
  { schedule: '1F1B', pp: 2, ep: 2, dp: 1, microBatches: 2, batch: 4, layers: 2, comm: fp32 },
  { schedule: 'DualPipe', pp: 2, ep: 2, dp: 1, microBatches: 4, batch: 8, layers: 2, comm: fp32 },
  // PP2 × EP2 × DP2: every expert held by two ranks (one per data replica), dense layers by four
  { schedule: '1F1B', pp: 2, ep: 2, dp: 2, microBatches: 2, batch: 8, layers: 2, comm: fp32 },
  // the demo's layout: a dense parameter is held by all 8 ranks, an expert by 4 (both pipeline ranks × 2 replicas)
  { schedule: 'DualPipe', pp: 2, ep: 2, dp: 2, microBatches: 4, batch: 16, layers: 2, comm: fp32 },
];

for (const c of cases) {
  const name = `PP=${c.pp}${c.ep > 1 ? ` × EP=${c.ep}` : ''}${c.dp > 1 ? ` × DP=${c.dp}` : ''}`;
  describe(`${c.schedule} over ${name} (${c.microBatches} micro-batches, ${c.layers} layers)`, { skip }, () => {
    it('matches the single-process loss at every step', async () => {
      const steps = 4;
      const single = new Trainer(fixtureOptions('fp32', steps, c.batch, c.layers), byteTokenizer, fixtureTokens());
      let lastSingle: ReturnType<Trainer['trainStep']> | undefined;
      const expected = Array.from({ length: steps }, () => (lastSingle = single.trainStep()).loss);
      const { results } = await launch({
        script: workerScript(), worldSize: c.pp * c.ep * c.dp, args: ['pp-train'], killAfterMs: 180_000,
        env: {
          TEST_TRAIN: JSON.stringify({
            precision: 'fp32', steps, batch: c.batch, layers: c.layers, schedule: c.schedule, microBatches: c.microBatches,
            pp: c.pp, epSize: c.ep, ...(c.comm ? { ep: c.comm } : {}),
          }),
        },
      });
      for (const r of results) assert.equal(r.code, 0, `rank ${r.rank} exited ${r.code} ${r.signal ?? ''}: ${r.stderr}`);
      const outs = results.map((r) => JSON.parse(r.stdout.trim().split('\n').pop()!));
      let worst = 0;
      for (const o of outs) {
        for (let s = 0; s < steps; s++) {
          const rel = Math.abs(o.losses[s] - expected[s]) / Math.abs(expected[s]);
          worst = Math.max(worst, rel);
          assert.ok(rel < TOLERANCE, `rank ${o.rank} step ${s + 1}: loss ${o.losses[s]} vs single-process ${expected[s]} (rel ${rel.toExponential(2)})`);
        }
      }
      assertHoldersAgree(outs);
      // The expert-load bias update sees the global loads: every rank's router biases are the single-process ones,
      // rank 0 reports the single-process run's last expert loads and the bias spread over all layers.
      for (const o of outs) {
        for (const [name, b] of single.params.buffers) {
          if (!(name in o.sums)) continue;
          let sum = 0;
          for (let i = 0; i < b.length; i++) sum += b[i]!;
          assert.equal(o.sums[name], sum, `rank ${o.rank} ${name}`);
        }
      }
      assert.deepEqual(outs[0].expertLoad, lastSingle!.expertLoad);
      assert.equal(outs[0].biasSpread, lastSingle!.biasSpread);
      // Rank 0 gathers the single-process run's weights from the holders (what its inference export writes), up to
      // summation order.
      let sum = 0, scale = 0;
      for (const p of single.params.list()) for (let i = 0; i < p.data.length; i++) { sum += p.data[i]!; scale += Math.abs(p.data[i]!); }
      assert.ok(Math.abs(outs[0].fullSum - sum) <= 1e-5 * scale, `rank 0 gathered parameter sum ${outs[0].fullSum} vs single-process ${sum} (scale ${scale})`);
      process.stdout.write(`# ${c.schedule} ${name}: worst relative loss difference ${worst.toExponential(2)}\n`);
    });
  });
}
