// One rank of the distributed tests, started by launch.ts with the pod contract's environment.
// argv[2] picks the scenario; results go to stdout as one JSON line; failures exit non-zero.
import '../../../runtime/src/comm/threadpool.js';
import { initDistributed, distOptionsFromEnv } from '../../../runtime/src/comm/init.js';
import { readDistEnv } from '../../../runtime/src/comm/pod-env.js';
import type { ScheduleName } from '../../../operator/plan/schedule/ops.js';
import type { EpOptions } from '../../../runtime/src/parallel/moe-ep.js';
import { saveSharded } from '../../../runtime/src/parallel/sharded-checkpoint.js';
import { startPoint } from '../../../runtime/src/parallel/start-point.js';
import { startSpec } from '../../../runtime/src/checkpoint/resume.js';
import type { Zero1 } from '../../../runtime/src/parallel/zero1.js';
import { engineGroupList, startEngine, type EngineGroups } from '../../../runtime/src/parallel/rank-engine.js';
import type { Traffic } from '../../../runtime/src/comm/process-group.js';
import { gatherWeights } from '../../../runtime/src/parallel/gather.js';
import { paramBytes, paramSpecs } from '../../../runtime/src/parallel/held-params.js';
import type { DistLayout, ParamPlacement } from '../../../runtime/src/parallel/param-placement.js';
import type { StepMetrics, Trainer } from '../../../runtime/src/train/trainer.js';
import { PipelineTrainer } from '../../../runtime/src/parallel/pp-trainer.js';
import type { Precision } from '../../../runtime/src/model/precision.js';
import { byteTokenizer } from '../../../runtime/src/data/tokenizer.js';
import { fixtureData, fixtureOptions } from './train-fixture.js';

const scenario = process.argv[2] ?? 'collectives';
const env = readDistEnv(process.env);
const dist = await initDistributed(env, distOptionsFromEnv());
const { rank, size } = dist;
const world = dist.world;

/** Value rank r contributes at index i: exact in float32, so sums are exact too. */
const val = (r: number, i: number): number => (r + 1) * 1000 + i;

async function collectivesScenario(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  // allreduce: element i = Σ_r val(r, i)
  const n = 1000;
  const a = Float32Array.from({ length: n }, (_, i) => val(rank, i));
  await world.allreduce(a);
  out.allreduce = [a[0], a[n - 1]];
  // allgather of 3 floats per rank
  const g = new Float32Array(3 * size);
  await world.allgather(Float32Array.from([rank, rank * 10, rank * 100]), g);
  out.allgather = Array.from(g);
  // alltoallv: rank r sends (d + 1) bytes of value 10r + d to rank d
  const inBytes = Array.from({ length: size }, (_, d) => d + 1);
  const input = new Uint8Array(inBytes.reduce((x, y) => x + y, 0));
  let off = 0;
  for (let d = 0; d < size; d++) for (let k = 0; k < inBytes[d]; k++) input[off++] = 10 * rank + d;
  const outBytes = Array.from({ length: size }, () => rank + 1);
  const output = new Uint8Array(size * (rank + 1));
  await world.alltoallv(input, inBytes, output, outBytes);
  out.alltoallv = Array.from(output);
  // reduce-scatter: counts[r] = r + 2 floats for rank r
  const counts = Array.from({ length: size }, (_, r) => r + 2);
  const rsIn = Float32Array.from({ length: counts.reduce((x, y) => x + y, 0) }, (_, i) => val(rank, i));
  const rsOut = new Float32Array(counts[rank]);
  await world.reduceScatter(rsIn, counts, rsOut);
  out.reduceScatter = Array.from(rsOut);
  // ring send/recv, posted both ways before waiting
  const next = (rank + 1) % size, prev = (rank + size - 1) % size;
  const got = new Float64Array(2);
  await Promise.all([world.send(Float64Array.from([rank, Math.PI * rank]), next, 7), world.recv(got, prev, 7)]);
  out.ring = Array.from(got);
  // a sub-group of the even ranks
  const evens = Array.from({ length: size }, (_, i) => i).filter((r) => r % 2 === 0);
  if (rank % 2 === 0) {
    const sub = await dist.group({ name: 'evens', ranks: evens });
    const s = Float32Array.from([rank]);
    await sub.allreduce(s);
    out.evens = s[0];
  }
  await world.barrier();
  out.traffic = world.traffic;
  return out;
}

/** Allreduce in a loop; the victim rank dies or stalls at iteration 5. */
async function faultScenario(kind: 'die' | 'stall'): Promise<Record<string, unknown>> {
  const victim = Number(process.env.TEST_VICTIM ?? size - 1);
  const buf = new Float32Array(1024);
  for (let it = 0; it < 1_000_000; it++) {
    if (it === 5 && rank === victim) {
      process.stdout.write(JSON.stringify({ rank, event: kind, at: Date.now() }) + '\n');
      if (kind === 'die') process.kill(process.pid, 'SIGKILL');
      // stall: spin with the event loop blocked (no heartbeats), then leave so the test does not wait for a kill
      const until = Date.now() + 6000;
      while (Date.now() < until) { /* spin */ }
      process.exit(9);
    }
    await dist.guard(() => world.allreduce(buf));
    await new Promise((r) => setTimeout(r, 20));
  }
  return {};
}

interface TrainSpec {
  precision: Precision; steps: number; batch: number; layers?: number;
  /** Pipeline (default 1), expert-parallel size (default 1; with `ep` and no epSize: every rank of a DP-only run). */
  pp?: number; epSize?: number; schedule?: ScheduleName; microBatches?: number; ep?: EpOptions;
  /** DualPipe's paired chunks interleaved (default: the engine's, on). */
  overlap?: boolean;
  /** SFT's masked chat batches (train-fixture.ts fixtureChat) instead of text windows. */
  sft?: 'packed' | 'padded';
}

/** The plan-order layout of a test run over `size` ranks. */
function layoutOf(spec: TrainSpec): DistLayout {
  const pp = spec.pp ?? 1;
  const ep = spec.epSize ?? (spec.ep && pp === 1 ? size : 1);
  if (size % (pp * ep) !== 0) throw new Error(`world ${size} is not a multiple of PP ${pp} × EP ${ep}`);
  return { schedule: spec.schedule ?? '1F1B', pp, ep, dp: size / (pp * ep), microBatches: spec.microBatches ?? 1 };
}

async function engineFor(spec: TrainSpec) {
  return startEngine(dist, {
    options: fixtureOptions(spec.precision, spec.steps, spec.batch, spec.layers ?? 2), tokenizer: byteTokenizer, tokens: fixtureData(spec.sft),
    layout: layoutOf(spec), ...(spec.ep ? { ep: spec.ep } : {}), ...(spec.overlap !== undefined ? { overlap: spec.overlap } : {}),
  });
}

/** Operation counts and bytes over every group this rank joined. */
function trafficOf(g: EngineGroups): Traffic {
  const out: Traffic = { sent: {}, calls: {} };
  for (const x of engineGroupList(g)) {
    for (const [k, v] of Object.entries(x.traffic.sent)) out.sent[k] = (out.sent[k] ?? 0) + v;
    for (const [k, v] of Object.entries(x.traffic.calls)) out.calls[k] = (out.calls[k] ?? 0) + v;
  }
  return out;
}

/** What the tests check about the parameters: each held one's sum (holders must agree), rank 0's gathered model. */
async function paramReport(trainer: Trainer, zero: Zero1, placement: ParamPlacement): Promise<Record<string, unknown>> {
  const sums: Record<string, number> = {};
  for (const p of trainer.params.list()) {
    let s = 0;
    for (let i = 0; i < p.data.length; i++) s += p.data[i];
    sums[p.name] = s;
  }
  for (const [name, b] of trainer.params.buffers) {
    let s = 0;
    for (let i = 0; i < b.length; i++) s += b[i];
    sums[name] = s;
  }
  const whole = await dist.guard(() => gatherWeights(trainer, placement, world));
  let fullSum: number | undefined;
  if (whole) {
    fullSum = 0;
    for (const p of paramSpecs(trainer.config).list()) for (const v of whole.get(p.name)!) fullSum += v;
  }
  return { sums, fullSum, bytes: { ...paramBytes(trainer.params), ...zero.bytes }, buffers: [...trainer.params.buffers.keys()] };
}

/** Training of the fixture model; TEST_TRAIN = TrainSpec. */
async function trainScenario(): Promise<Record<string, unknown>> {
  const spec = JSON.parse(process.env.TEST_TRAIN ?? '{}') as TrainSpec;
  const { trainer, engine, placement, groups } = await engineFor(spec);
  const losses: number[] = [];
  const seconds: number[] = [];
  let last: StepMetrics | undefined;
  let interleavedPairs = 0, deferredW = 0;
  for (let s = 0; s < spec.steps; s++) {
    const m = last = await dist.guard(() => engine.trainStep());
    losses.push(m.loss);
    seconds.push(m.seconds);
    if (engine instanceof PipelineTrainer) {
      interleavedPairs += engine.lastTiming?.interleavedPairs ?? 0;
      deferredW += engine.lastTiming?.deferredW ?? 0;
    }
  }
  return { losses, seconds, interleavedPairs, deferredW, biasSpread: last?.biasSpread, expertLoad: last?.expertLoad, shardMoments: engine.zero.shardOpt.m.size, traffic: trafficOf(groups), ...(await paramReport(trainer, engine.zero, placement)) };
}

/**
 * Checkpointed training: TEST_TRAIN = TrainSpec & {runDir, every, stopAt?, saveAtStart?}. Starts as the entrypoint
 * does (start-point.ts with the MOE_RESUME_* / MOE_INIT_URI env: by default the agreed newest checkpoint in runDir);
 * trains up to `stopAt` (default `steps`, which also sets the learning-rate schedule), saving every `every` steps, and
 * with saveAtStart once before training (a reshard round trip writes what it loaded).
 */
async function ckptScenario(): Promise<Record<string, unknown>> {
  const spec = JSON.parse(process.env.TEST_TRAIN ?? '{}') as TrainSpec & { runDir: string; every: number; stopAt?: number; saveAtStart?: boolean };
  const { trainer, engine } = await engineFor(spec);
  const start = await startPoint(dist, trainer, engine.zero, startSpec(process.env, spec.runDir), () => {});
  if (spec.saveAtStart) await dist.guard(() => saveSharded(spec.runDir, trainer, engine.zero, world, 3));
  const losses: Record<number, number> = {};
  while (trainer.step < (spec.stopAt ?? spec.steps)) {
    const m = await dist.guard(() => engine.trainStep());
    losses[m.step] = m.loss;
    if (m.step % spec.every === 0) await dist.guard(() => saveSharded(spec.runDir, trainer, engine.zero, world, 3));
  }
  return { resumedFrom: start.kind === 'resumed' ? start.step : 0, start, losses };
}

let result: Record<string, unknown>;
if (scenario === 'collectives') result = await collectivesScenario();
else if (scenario === 'ckpt') result = await ckptScenario();
else if (scenario === 'pp-train' || scenario === 'dp-train') result = await trainScenario();
else if (scenario === 'die' || scenario === 'stall') result = await faultScenario(scenario);
else throw new Error(`unknown scenario ${scenario}`);
process.stdout.write(JSON.stringify({ rank, ...result }) + '\n');
await dist.shutdown();
