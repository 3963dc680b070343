// One pod of the all-to-all vs star benchmark (a2a.bench.ts), started by launch() with the pod contract's env.
// BENCH_LAYOUT star: rank 0 runs every sequence of the replica (ExpertParallelLeader), the others host expert slots;
// alltoall: every pod runs BENCH_SEQS sequences of its own (ExpertAllToAll; alltoall-padded: its padded dispatch). The replica runs the same sequences
// either way (BENCH_SEQS per pod, prompts by global index). A separate process group `bench` lines the pods up
// (barriers), so the measured phase is the same wall interval on every pod. One JSON line on stdout per pod.
import { initDistributed, distOptionsFromEnv } from '../../runtime/src/comm/init.js';
import { readDistEnv } from '../../runtime/src/comm/pod-env.js';
import { byteTokenizer } from '../../runtime/src/data/tokenizer.js';
import { buildParams } from '../../runtime/src/model/transformer.js';
import { Rng } from '../../runtime/src/model/rng.js';
import { alloc32 } from '../../runtime/src/model/tensor.js';
import { Engine } from '../../runtime/src/serve/engine/engine.js';
import { ExpertAllToAll } from '../../runtime/src/serve/engine/expert-all-to-all.js';
import { ExpertParallelLeader, serveExpertShard } from '../../runtime/src/serve/engine/expert-parallel.js';
import { weightsFromParams } from '../../runtime/src/serve/engine/weights.js';
import { config, engineOpts, prompt, SEED, type Mix } from './common.js';

const layout = process.env.BENCH_LAYOUT as 'star' | 'alltoall' | 'alltoall-padded';
const seqs = Number(process.env.BENCH_SEQS);
const mix: Mix = { name: 'decode', promptTokens: Number(process.env.BENCH_PROMPT), maxTokens: Number(process.env.BENCH_TOKENS), clients: 0, requests: 0 };
const dist = await initDistributed(readDistEnv(process.env), distOptionsFromEnv());
const n = dist.size;
const rank = dist.rank;
const bench = await dist.group({ name: 'bench', ranks: Array.from({ length: n }, (_, i) => i) });
const weights = weightsFromParams(buildParams(config, alloc32, new Rng(SEED)));

let engine: Engine | undefined;
let shard: Promise<unknown> | undefined;
let counter: { layersRun: number };
let a2a: ExpertAllToAll | undefined;
if (layout === 'star') {
  if (rank === 0) {
    const ep = new ExpertParallelLeader(dist.world);
    counter = ep;
    engine = Engine.fromWeights(config, byteTokenizer, weights, { ...engineOpts, maxBatch: seqs * n, expertParallel: ep });
  } else {
    counter = { layersRun: 0 };
    shard = serveExpertShard(dist.world, config, weights, engineOpts.precision ?? 'fp8');
  }
} else {
  a2a = new ExpertAllToAll(dist.world, layout === 'alltoall-padded' ? 'padded' : 'exact');
  counter = a2a;
  engine = Engine.fromWeights(config, byteTokenizer, weights, { ...engineOpts, maxBatch: seqs, allToAll: a2a });
}

const gen = (e: Engine, i: number, maxTokens: number): Promise<number> => {
  let k = 0;
  return e.generate({ id: `b${i}`, promptIds: byteTokenizer.encode(prompt(mix, i)), params: { maxTokens, temperature: 0, topP: 1, seed: i, stopTokenIds: [] } }, () => k++).then(() => k);
};
/** The sequences this pod runs: all of the replica's on the star's leader, its own under all-to-all. */
const mine = layout === 'star' ? (rank === 0 ? Array.from({ length: seqs * n }, (_, i) => i) : []) : Array.from({ length: seqs }, (_, j) => rank * seqs + j);

// Warm-up (JIT, allocator, first placement shipped), not measured.
if (engine) await Promise.all(mine.map((i) => gen(engine!, i, 4)));
await bench.barrier();

// Idle: what a replica with no sequences costs per pod (the star's NOOP keep-alives, the all-to-all's idle ticks).
const idleMs = 2000;
const ci = process.cpuUsage();
await new Promise((r) => setTimeout(r, idleMs));
const idle = process.cpuUsage(ci);
await bench.barrier();

const sent0 = { ...dist.world.traffic.sent };
const time0 = a2a ? { ...a2a.time } : undefined;
const layers0 = counter.layersRun;
const c0 = process.cpuUsage();
const t0 = performance.now();
const tokens = engine ? (await Promise.all(mine.map((i) => gen(engine!, i, mix.maxTokens)))).reduce((a, b) => a + b, 0) : 0;
const ownDone = performance.now() - t0;
await bench.barrier();
const wall = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(c0);
const sent: Record<string, number> = {};
for (const [k, v] of Object.entries(dist.world.traffic.sent)) if (v - (sent0[k] ?? 0) > 0) sent[k] = v - (sent0[k] ?? 0);
const layersRun = counter.layersRun - layers0;
// All-to-all: where a pod's step wall time went (ms over the measured phase).
const time = a2a && time0 ? Object.fromEntries(Object.entries(a2a.time).map(([k, v]) => [k, +(v - time0[k as keyof typeof time0]).toFixed(1)])) : undefined;

// What one small collective costs here (for the per-step accounting): 300 alltoallv of 1 KB per pair on the bench
// group, after the engines are idle.
const ones = new Array<number>(n).fill(1024);
const a = new Uint8Array(1024 * n);
const b = new Uint8Array(1024 * n);
await bench.barrier();
const cc = process.cpuUsage();
const tc = performance.now();
for (let i = 0; i < 300; i++) await bench.alltoallv(a, ones, b, ones);
const coll = process.cpuUsage(cc);
const collective = { wallUs: +((performance.now() - tc) / 300 * 1000).toFixed(1), cpuUs: +((coll.user + coll.system) / 300).toFixed(1) };

await engine?.close();
await shard;
process.stdout.write(JSON.stringify({
  rank, layout, tokens, wall, ownDoneSeconds: ownDone / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6, sent, layersRun,
  idleCpuFraction: (idle.user + idle.system) / 1e3 / idleMs, collective, ...(time ? { timeMs: time } : {}),
}) + '\n');
await dist.shutdown();
process.exit(0);
