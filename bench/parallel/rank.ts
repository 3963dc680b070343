// One rank of the distributed training benchmark (started by train.bench.ts through local-launch). BENCH_SPEC picks
// the layout; prints one JSON line: per-step seconds and losses, bytes handed to the network per operation kind, and
// (pipelines) where each step's pipeline phase spent its time.
import '../../runtime/src/comm/threadpool.js';
import '../../runtime/src/parallel/heap-flags.js'; // the pod entrypoint's V8 flags (main.ts), so the ranks collect as the pods do
import { initDistributed, distOptionsFromEnv } from '../../runtime/src/comm/init.js';
import { readDistEnv } from '../../runtime/src/comm/pod-env.js';
import { engineGroupList, startEngine } from '../../runtime/src/parallel/rank-engine.js';
import { paramBytes } from '../../runtime/src/parallel/held-params.js';
import { PipelineTrainer, type PipelineTiming } from '../../runtime/src/parallel/pp-trainer.js';
import type { ProcessGroup } from '../../runtime/src/comm/process-group.js';
import type { ScheduleName } from '../../operator/plan/schedule/ops.js';
import { Trainer } from '../../runtime/src/train/trainer.js';
import { defaultTrainOptions } from '../../runtime/src/train/options.js';
import { byteTokenizer } from '../../runtime/src/data/tokenizer.js';
import { syntheticCorpus } from '../../runtime/src/data/grammar.js';

export interface BenchSpec {
  /** dp: ZeRO-1 over every rank; ep: EP over every rank; pp: pipeline over every rank; mixed: PP × EP × DP below. */
  layout: 'single' | 'dp' | 'ep' | 'pp' | 'mixed';
  pp?: number;
  ep?: number;
  steps: number;
  batch: number;
  seqLen: number;
  schedule?: ScheduleName;
  microBatches?: number;
  /** DualPipe's paired chunks interleaved (pipeline layouts; default on). */
  overlap?: boolean;
  /** Pipelines: overlap on at steps 0, 2, 4, … and off at 1, 3, … (the modes give identical numbers): both under one load. */
  alternate?: boolean;
}

process.env.MOE_NUM_THREADS ??= '1';
const spec = JSON.parse(process.env.BENCH_SPEC ?? '{}') as BenchSpec;
const opts = defaultTrainOptions({ precision: 'fp8', steps: spec.steps, batch: spec.batch, seqLen: spec.seqLen, checkpointEvery: 0 });
const tokens = byteTokenizer.encode(syntheticCorpus(3, 200_000));
const seconds: number[] = [];
const losses: number[] = [];
let traffic: Record<string, number> = {};
/** Bytes sent per operation kind by the groups of each role: expert all-to-all, pipeline, ZeRO-1 holders, world. */
const byRole: Record<string, Record<string, number>> = {};
let bytes: Record<string, number> = {};
let modes: boolean[] = [];
const timing: PipelineTiming[] = [];

if (spec.layout === 'single') {
  const trainer = new Trainer(opts, byteTokenizer, tokens);
  for (let s = 0; s < spec.steps; s++) {
    const m = trainer.trainStep();
    seconds.push(m.seconds);
    losses.push(m.loss);
  }
} else {
  const dist = await initDistributed(readDistEnv(process.env), distOptionsFromEnv());
  const n = dist.size;
  const pp = spec.layout === 'pp' ? n : spec.layout === 'mixed' ? spec.pp! : 1;
  const ep = spec.layout === 'ep' ? n : spec.layout === 'mixed' ? spec.ep! : 1;
  const { trainer, engine, groups } = await startEngine(dist, {
    options: opts, tokenizer: byteTokenizer, tokens, ep: { dispatch: 'fp8', combine: 'bf16' }, overlap: spec.overlap ?? true,
    layout: { schedule: spec.schedule ?? '1F1B', pp, ep, dp: n / (pp * ep), microBatches: spec.microBatches ?? 1 },
  });
  bytes = { ...paramBytes(trainer.params), ...engine.zero.bytes };
  modes = [];
  for (let s = 0; s < spec.steps; s++) {
    if (spec.alternate && engine instanceof PipelineTrainer) engine.overlap = s % 2 === 0;
    modes.push(engine instanceof PipelineTrainer && engine.overlap);
    const t0 = performance.now();
    const m = await dist.guard(() => engine.trainStep());
    seconds.push((performance.now() - t0) / 1000);
    losses.push(m.loss);
    if (engine instanceof PipelineTrainer && engine.lastTiming) timing.push(engine.lastTiming);
  }
  for (const g of engineGroupList(groups)) for (const [k, v] of Object.entries(g.traffic.sent)) traffic[k] = (traffic[k] ?? 0) + v;
  // A group that is the whole world counts under its first role here (the demo's groups are all distinct).
  const roles: Array<[string, ProcessGroup | undefined]> = [['pp', groups.pp], ['ep', groups.ep?.group], ['ep', groups.ep?.back],
    ...groups.holders.map((h): [string, ProcessGroup | undefined] => ['zero', h.group]), ['world', groups.world]];
  const seen = new Set<ProcessGroup>();
  for (const [role, g] of roles) {
    if (!g || seen.has(g)) continue;
    seen.add(g);
    const r = (byRole[role] ??= {});
    for (const [k, v] of Object.entries(g.traffic.sent)) r[k] = (r[k] ?? 0) + v;
  }
  await dist.shutdown();
}
process.stdout.write(JSON.stringify({ rank: Number(process.env.RANK ?? 0), seconds, losses, traffic, byRole, bytes, timing, modes }) + '\n');
