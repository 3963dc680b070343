// One rank of the distributed tests, started by launch.ts with the pod contract's environment.
// argv[2] picks the scenario; results go to stdout as one JSON line; failures exit non-zero.
import { initDistributed, distOptionsFromEnv } from '../../../runtime/src/dist/init.js';
import { readDistEnv } from '../../../runtime/src/dist/env.js';
import { PipelineTrainer } from '../../../runtime/src/dist/pp-trainer.js';
import type { ScheduleName } from '../../../operator/plan/schedule-types.js';
import type { EpOptions } from '../../../runtime/src/dist/moe-ep.js';
import { loadShard, restoreSharded, saveSharded } from '../../../runtime/src/dist/sharded-checkpoint.js';
import type { Zero1 } from '../../../runtime/src/dist/zero1.js';
import { DataParallelTrainer } from '../../../runtime/src/dist/dp-trainer.js';
import { Trainer } from '../../../runtime/src/train/trainer.js';
import type { Precision } from '../../../runtime/src/train/precision.js';
import { byteTokenizer } from '../../../runtime/src/data/tokenizer.js';
import { fixtureOptions, fixtureTokens } from './train-fixture.js';

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

/** ZeRO-1 data-parallel training of the fixture model; TEST_TRAIN = {precision, steps, batch}. */
async function dpTrainScenario(): Promise<Record<string, unknown>> {
  const spec = JSON.parse(process.env.TEST_TRAIN ?? '{}') as { precision: Precision; steps: number; batch: number; ep?: EpOptions };
  const trainer = new Trainer(fixtureOptions(spec.precision, spec.steps, spec.batch), byteTokenizer, fixtureTokens());
  const dp = new DataParallelTrainer(trainer, world, spec.ep);
  const losses: number[] = [];
  const seconds: number[] = [];
  for (let s = 0; s < spec.steps; s++) {
    const m = await dist.guard(() => dp.trainStep());
    losses.push(m.loss);
    seconds.push(m.seconds);
  }
  let sum = 0;
  for (const p of trainer.params.list()) for (let i = 0; i < p.data.length; i++) sum += p.data[i];
  return { losses, seconds, paramSum: sum, shardMoments: dp.shardOpt.m.size, traffic: world.traffic };
}

/** Pipeline training of the fixture model; TEST_TRAIN = {precision, steps, batch, layers, schedule, microBatches}. */
async function ppTrainScenario(): Promise<Record<string, unknown>> {
  const spec = JSON.parse(process.env.TEST_TRAIN ?? '{}') as {
    precision: Precision; steps: number; batch: number; layers: number; schedule: ScheduleName; microBatches: number;
    pp: number; ep?: EpOptions;
  };
  const trainer = new Trainer(fixtureOptions(spec.precision, spec.steps, spec.batch, spec.layers), byteTokenizer, fixtureTokens());
  // rank = dpRank · PP + ppRank
  const PP = spec.pp, DP = size / PP, ppRank = rank % PP, dpRank = Math.floor(rank / PP);
  const ppGroup = DP === 1 ? world : await dist.group({ name: `pp${dpRank}`, ranks: Array.from({ length: PP }, (_, p) => dpRank * PP + p) });
  const dpGroup = DP === 1 ? undefined : await dist.group({ name: `dp${ppRank}`, ranks: Array.from({ length: DP }, (_, q) => q * PP + ppRank) });
  const pp = new PipelineTrainer(trainer, dpGroup ? { pp: ppGroup, dp: dpGroup, world } : { pp: ppGroup },
    { schedule: spec.schedule, microBatches: spec.microBatches, ...(spec.ep ? { ep: spec.ep } : {}) });
  const losses: number[] = [];
  for (let s = 0; s < spec.steps; s++) losses.push((await dist.guard(() => pp.trainStep())).loss);
  let sum = 0;
  for (const p of trainer.params.list()) for (let i = 0; i < p.data.length; i++) sum += p.data[i];
  return { losses, paramSum: sum, traffic: world.traffic };
}

/**
 * Checkpointed training: TEST_TRAIN = {precision, steps, batch, runDir, every, pp?, schedule?, microBatches?, ep?}.
 * Resumes from the newest checkpoint in runDir when there is one; trains up to `stopAt` (default `steps`, which
 * also sets the learning-rate schedule), saving every `every` steps.
 */
async function ckptScenario(): Promise<Record<string, unknown>> {
  const spec = JSON.parse(process.env.TEST_TRAIN ?? '{}') as {
    precision: Precision; steps: number; batch: number; runDir: string; every: number; layers?: number; stopAt?: number;
    pp?: number; schedule?: ScheduleName; microBatches?: number; ep?: EpOptions;
  };
  const trainer = new Trainer(fixtureOptions(spec.precision, spec.steps, spec.batch, spec.layers ?? 2), byteTokenizer, fixtureTokens());
  let engine: { zero: Zero1; trainStep(): Promise<{ loss: number; step: number }> };
  if (spec.pp) {
    const PP = spec.pp, DP = size / PP, ppRank = rank % PP, dpRank = Math.floor(rank / PP);
    const ppGroup = await dist.group({ name: `pp${dpRank}`, ranks: Array.from({ length: PP }, (_, p) => dpRank * PP + p) });
    const dpGroup = await dist.group({ name: `dp${ppRank}`, ranks: Array.from({ length: DP }, (_, q) => q * PP + ppRank) });
    engine = new PipelineTrainer(trainer, { pp: ppGroup, dp: dpGroup, world },
      { schedule: spec.schedule!, microBatches: spec.microBatches!, ...(spec.ep ? { ep: spec.ep } : {}) });
  } else {
    engine = new DataParallelTrainer(trainer, world, spec.ep);
  }
  const loaded = loadShard(spec.runDir, rank, size);
  if (loaded) await restoreSharded(trainer, engine.zero, loaded);
  const losses: Record<number, number> = {};
  while (trainer.step < (spec.stopAt ?? spec.steps)) {
    const m = await dist.guard(() => engine.trainStep());
    losses[m.step] = m.loss;
    if (m.step % spec.every === 0) await dist.guard(() => saveSharded(spec.runDir, trainer, engine.zero, world, 3));
  }
  return { resumedFrom: loaded?.step ?? 0, losses };
}

let result: Record<string, unknown>;
if (scenario === 'collectives') result = await collectivesScenario();
else if (scenario === 'ckpt') result = await ckptScenario();
else if (scenario === 'pp-train') result = await ppTrainScenario();
else if (scenario === 'dp-train') result = await dpTrainScenario();
else if (scenario === 'die' || scenario === 'stall') result = await faultScenario(scenario);
else throw new Error(`unknown scenario ${scenario}`);
process.stdout.write(JSON.stringify({ rank, ...result }) + '\n');
await dist.shutdown();
