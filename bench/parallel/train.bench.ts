// Distributed training benchmark on the deepseek-v3-tiny preset (FP8, batch 8 × 64 tokens): steps/s of the
// single-process trainer (the peer, measured in this run), ZeRO-1 DP over 1, 2 and 4 ranks, EP=2 (FP8 dispatch, BF16
// combine), 1F1B PP=2 and the demo's 8-rank layout (DualPipe PP=2 × EP=2 × DP=2, batch 16, examples/demo); the
// bytes each rank handed to the network per step against the planner's traffic model (operator/plan/placement/traffic.ts)
// for the same layout; and the parameter + optimizer bytes each rank holds, against what the replaced
// whole-model-per-rank code allocated for the same layout. Writes bench/results/dist-train.json (BENCH_DIST_ONLY=demo:
// dist-overlap.json, or dist-overlap-alternating.json with BENCH_DIST_ALTERNATE=1).
// The demo layout runs BENCH_DIST_REPEATS times (default 2) with DualPipe's paired chunks sequential and overlapped
// (MOE_DIST_OVERLAP), alternating, and reports per run the pipeline phase's communication in flight and how much of
// it was exposed (the event loop idle), so hidden = 1 − exposed / in flight. BENCH_DIST_ONLY=demo runs only those;
// BENCH_DIST_ALTERNATE=1 instead switches the mode every step inside each run (results per mode in `byMode`).
// These machines have 2 shared cores: 2 ranks compete with each other and with other work; read the numbers as such.
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch } from '../../runtime/src/comm/local-launch.js';
import { collectivesAvailable } from '../../runtime/src/comm/collectives-binding.js';
import { trafficVolumes } from '../../operator/plan/placement/traffic.js';
import { modelConfig } from '../../runtime/src/model/config.js';
import type { ParallelismSpec } from '../../operator/plan/types.js';
import type { BenchSpec } from './rank.js';
import { paramSpecs } from '../../runtime/src/parallel/held-params.js';
import { writeAndPrintResult } from '../result-file.js';

const STEPS = Number(process.env.BENCH_DIST_STEPS ?? 4);
const BATCH = 8, SEQ = 64;
const here = path.dirname(fileURLToPath(import.meta.url));
const script = path.join(here, 'rank.js');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

interface Timing { pipelineMs: number; commMs: number; exposedMs: number; interleavedPairs: number }
interface Out {
  rank: number; seconds: number[]; losses: number[]; traffic: Record<string, number>; byRole: Record<string, Record<string, number>>;
  bytes: Record<string, number>; timing: Timing[]; modes?: boolean[];
}
const ALTERNATE = process.env.BENCH_DIST_ALTERNATE === '1';

/** Steps after the first of one overlap mode (alternating runs): median step seconds and the pipeline phase's times. */
function byMode(outs: Out[], on: boolean) {
  const secs: number[] = [];
  let comm = 0, exposed = 0, pipe = 0, n = 0;
  for (const o of outs) {
    o.seconds.forEach((sec, i) => {
      if (i === 0 || o.modes?.[i] !== on) return;
      secs.push(sec);
      const t = o.timing[i]!;
      comm += t.commMs; exposed += t.exposedMs; pipe += t.pipelineMs; n++;
    });
  }
  return {
    steps: secs.length / outs.length, stepSeconds: median(secs), pipelineMsPerRankStep: pipe / n, commInFlightMsPerRankStep: comm / n,
    exposedMsPerRankStep: exposed / n, hiddenFraction: comm > 0 ? 1 - exposed / comm : 0,
  };
}
const REPEATS = Number(process.env.BENCH_DIST_REPEATS ?? 2);
const ONLY = process.env.BENCH_DIST_ONLY;

/**
 * What every rank allocated before parameters were placed (commit effc542): the whole model's FP32 values and
 * gradients, the trainer's whole-model BF16 AdamW moments (unused by the engines), ZeRO-1's padded flat gradient and
 * flat parameter vectors over the world, its reduced-gradient and parameter shards, the shard's BF16 moments, and
 * every router bias.
 */
function replacedBytesPerRank(n: number, world: number, buffers: number): number {
  const shard = Math.ceil(n / world);
  return 8 * n + 4 * n + 8 * shard * world + 8 * shard + 4 * shard + buffers;
}

async function run(world: number, spec: BenchSpec): Promise<Out[]> {
  const { results } = await launch({ script, worldSize: world, killAfterMs: 600_000, env: { BENCH_SPEC: JSON.stringify(spec) } });
  for (const r of results) if (r.code !== 0) throw new Error(`${spec.layout} rank ${r.rank} exited ${r.code}: ${r.stderr}`);
  return results.map((r) => JSON.parse(r.stdout.trim().split('\n').pop()!) as Out);
}

if (!collectivesAvailable()) {
  console.error('Gloo collectives addon not built (runtime/collectives): nothing to measure');
  process.exit(1);
}
const model = modelConfig('deepseek-v3-tiny', { vocab_size: 256 });
const base = { steps: STEPS, batch: BATCH, seqLen: SEQ };
const wholeCount = paramSpecs(model).list().reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0);
const biasBytes = 4 * model.n_routed_experts * paramSpecs(model).buffers.size;
type Layout = { name: string; world: number; spec: BenchSpec; parallelism?: ParallelismSpec; microBatchSize?: number };
const demo: Layout = {
  name: 'demo: DualPipe PP=2 × EP=2 × DP=2 (batch 16)', world: 8,
  spec: { layout: 'mixed', pp: 2, ep: 2, schedule: 'DualPipe', microBatches: 4, ...base, batch: 16 }, microBatchSize: 1,
  parallelism: { pipeline: { stages: 2, schedule: 'DualPipe', microBatches: 4 }, expert: 2, data: 2, tensor: 1, gpusPerPod: 1 },
};
const demoRuns: Layout[] = [];
for (let r = 0; r < REPEATS; r++) {
  if (ALTERNATE) demoRuns.push({ ...demo, name: `${demo.name}, overlap alternating`, spec: { ...demo.spec, alternate: true } });
  else for (const overlap of [false, true]) demoRuns.push({ ...demo, name: `${demo.name}, overlap ${overlap ? 'on' : 'off'}`, spec: { ...demo.spec, overlap } });
}
const layouts: Layout[] = ONLY === 'demo' ? demoRuns : [
  { name: 'single process (peer)', world: 1, spec: { layout: 'single', ...base } },
  { name: 'ZeRO-1 DP=1 over Gloo', world: 1, spec: { layout: 'dp', ...base } },
  { name: 'ZeRO-1 DP=2', world: 2, spec: { layout: 'dp', ...base } },
  { name: 'ZeRO-1 DP=4', world: 4, spec: { layout: 'dp', ...base } },
  {
    name: 'EP=2 over DP=2', world: 2, spec: { layout: 'ep', ...base }, microBatchSize: BATCH / 2,
    parallelism: { pipeline: { stages: 1, schedule: '1F1B', microBatches: 1 }, expert: 2, data: 1, tensor: 1, gpusPerPod: 1 },
  },
  {
    name: '1F1B PP=2', world: 2, spec: { layout: 'pp', schedule: '1F1B', microBatches: 4, ...base }, microBatchSize: BATCH / 4,
    parallelism: { pipeline: { stages: 2, schedule: '1F1B', microBatches: 4 }, expert: 1, data: 1, tensor: 1, gpusPerPod: 1 },
  },
  ...demoRuns,
];

const loadStart = os.loadavg();
const rows = [];
for (const l of layouts) {
  process.stderr.write(`== ${l.name} (load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')})\n`);
  const outs = await run(l.world, l.spec);
  const step = median(outs.flatMap((o) => o.seconds.slice(1)));
  const measured: Record<string, number> = {};
  for (const o of outs) for (const [k, v] of Object.entries(o.traffic)) measured[k] = (measured[k] ?? 0) + v / (STEPS * outs.length);
  const byRole: Record<string, Record<string, number>> = {};
  for (const o of outs) {
    for (const [role, kinds] of Object.entries(o.byRole ?? {})) {
      const r = (byRole[role] ??= {});
      for (const [k, v] of Object.entries(kinds)) r[k] = (r[k] ?? 0) + v / (STEPS * outs.length);
    }
  }
  // Pipeline phase of the steps after the first, summed over ranks: communication in flight and the exposed part.
  let commMs = 0, exposedMs = 0, pipelineMs = 0, interleavedPairs = 0;
  for (const o of outs) {
    for (const t of (o.timing ?? []).slice(1)) {
      commMs += t.commMs; exposedMs += t.exposedMs; pipelineMs += t.pipelineMs; interleavedPairs += t.interleavedPairs;
    }
  }
  const steps1 = outs.length * Math.max(1, STEPS - 1);
  const timing = outs[0]!.timing?.length ? {
    pipelineMsPerRankStep: pipelineMs / steps1, commInFlightMsPerRankStep: commMs / steps1, exposedMsPerRankStep: exposedMs / steps1,
    hiddenFraction: commMs > 0 ? 1 - exposedMs / commMs : 0, interleavedPairsPerRankStep: interleavedPairs / steps1,
  } : undefined;
  let modelled: Record<string, number> | undefined;
  let ratios: Record<string, number> | undefined;
  if (l.parallelism) {
    const v = trafficVolumes(model, l.parallelism, { sequenceLength: SEQ, microBatchSize: l.microBatchSize! });
    const n = l.parallelism.expert * l.parallelism.data;
    modelled = {
      epAlltoallSentPerRank: v.epBytesPerPeer.reduce((a, b) => a + b, 0) / v.epBytesPerPeer.length * (l.parallelism.expert - 1),
      ppSentPerRank: v.ppBytesPerEdge / 2,
      zeroRingSentPerRank: v.dpNonExpertHop.reduce((a, b) => a + b, 0) / v.dpNonExpertHop.length + v.dpExpertHop.reduce((a, b) => a + b, 0) / v.dpExpertHop.length,
      ringSize: n,
    };
    const sum = (r: Record<string, number> | undefined): number => Object.values(r ?? {}).reduce((a, b) => a + b, 0);
    // Measured per role (the groups' own bytes) over modelled; the EP role includes the per-layer load all-gather.
    ratios = {
      ...(modelled.epAlltoallSentPerRank > 0 && byRole.ep ? { ep: sum(byRole.ep) / modelled.epAlltoallSentPerRank, epAlltoallvOnly: (byRole.ep.alltoallv ?? 0) / modelled.epAlltoallSentPerRank } : {}),
      ...(modelled.ppSentPerRank > 0 && byRole.pp ? { pp: (byRole.pp.send ?? 0) / modelled.ppSentPerRank } : {}),
      ...(modelled.zeroRingSentPerRank > 0 && byRole.zero ? { zero: sum(byRole.zero) / modelled.zeroRingSentPerRank } : {}),
    };
  }
  const batch = l.spec.batch;
  const held = l.spec.layout === 'single' ? undefined : outs.map((o) => o.bytes.params + o.bytes.grads + o.bytes.buffers + o.bytes.moments + o.bytes.zeroBuffers);
  const row = {
    layout: l.name, ranks: l.world, batch, loadAverage: os.loadavg(), stepSeconds: step, stepsPerSecond: 1 / step, tokensPerSecond: (batch * SEQ) / step,
    finalLoss: outs[0].losses[outs[0].losses.length - 1], bytesSentPerRankPerStep: measured, bytesByRole: byRole, modelled, ratios, timing,
    ...(l.spec.alternate ? { byMode: { off: byMode(outs, false), on: byMode(outs, true) } } : {}),
    ...(held ? {
      // parameters + gradients + router biases + AdamW moments + ZeRO-1 buffers, per rank
      heldBytesPerRank: held, replacedBytesPerRank: replacedBytesPerRank(wholeCount, l.world, biasBytes),
      parameterElementsPerRank: outs.map((o) => o.bytes.count), momentBytesPerRank: outs.map((o) => o.bytes.moments),
    } : {}),
  };
  rows.push(row);
  process.stderr.write(`${JSON.stringify(row)}\n`);
}
const out = {
  preset: 'deepseek-v3-tiny', precision: 'fp8', batch: BATCH, seqLen: SEQ, steps: STEPS,
  note: 'steps/s from the median step after the first; 2 shared cores, so 2 ranks contend. Measured bytes are what each rank handed to Gloo per step (ring all-reduce counted as 2(n-1)/n of the buffer). heldBytesPerRank is measured from the allocated arrays; replacedBytesPerRank is the allocation list of the replaced whole-model-per-rank code for the same world size.',
  wholeModelParameters: wholeCount,
  rows,
};
// machine.loadavg is the load at the end; the start's is beside it.
writeAndPrintResult(ONLY === 'demo' ? `dist-overlap${ALTERNATE ? '-alternating' : ''}` : 'dist-train', out, { loadavgStart: loadStart.map((x) => +x.toFixed(2)) });
