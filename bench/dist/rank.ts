// One rank of the distributed training benchmark (started by train.bench.ts through local-launch). BENCH_SPEC picks
// the layout; prints one JSON line: per-step seconds and losses, bytes handed to the network per operation kind.
import { initDistributed, distOptionsFromEnv } from '../../runtime/src/dist/init.js';
import { readDistEnv } from '../../runtime/src/dist/env.js';
import { DataParallelTrainer } from '../../runtime/src/dist/dp-trainer.js';
import { PipelineTrainer } from '../../runtime/src/dist/pp-trainer.js';
import type { ProcessGroup } from '../../runtime/src/dist/process-group.js';
import type { ScheduleName } from '../../operator/plan/schedule-types.js';
import { Trainer } from '../../runtime/src/train/trainer.js';
import { defaultTrainOptions } from '../../runtime/src/train/options.js';
import { byteTokenizer } from '../../runtime/src/data/tokenizer.js';
import { syntheticCorpus } from '../../runtime/src/data/grammar.js';

export interface BenchSpec {
  layout: 'single' | 'dp' | 'ep' | 'pp';
  steps: number;
  batch: number;
  seqLen: number;
  schedule?: ScheduleName;
  microBatches?: number;
}

process.env.MOE_NUM_THREADS ??= '1';
const spec = JSON.parse(process.env.BENCH_SPEC ?? '{}') as BenchSpec;
const opts = defaultTrainOptions({ precision: 'fp8', steps: spec.steps, batch: spec.batch, seqLen: spec.seqLen, checkpointEvery: 0 });
const trainer = new Trainer(opts, byteTokenizer, byteTokenizer.encode(syntheticCorpus(3, 200_000)));
const seconds: number[] = [];
const losses: number[] = [];
let traffic: Record<string, number> = {};

if (spec.layout === 'single') {
  for (let s = 0; s < spec.steps; s++) {
    const m = trainer.trainStep();
    seconds.push(m.seconds);
    losses.push(m.loss);
  }
} else {
  const dist = await initDistributed(readDistEnv(process.env), distOptionsFromEnv());
  const groups: ProcessGroup[] = [dist.world];
  const engine = spec.layout === 'pp'
    ? new PipelineTrainer(trainer, { pp: dist.world }, { schedule: spec.schedule!, microBatches: spec.microBatches! })
    : new DataParallelTrainer(trainer, dist.world, spec.layout === 'ep' ? { dispatch: 'fp8', combine: 'bf16' } : undefined);
  for (let s = 0; s < spec.steps; s++) {
    const t0 = performance.now();
    const m = await dist.guard(() => engine.trainStep());
    seconds.push((performance.now() - t0) / 1000);
    losses.push(m.loss);
  }
  for (const g of groups) for (const [k, v] of Object.entries(g.traffic.sent)) traffic[k] = (traffic[k] ?? 0) + v;
  await dist.shutdown();
}
process.stdout.write(JSON.stringify({ rank: Number(process.env.RANK ?? 0), seconds, losses, traffic }) + '\n');
