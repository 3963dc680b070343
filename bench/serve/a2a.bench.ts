// Decode across the pods of one replica: DeepSeek's layout (every pod runs its own sequences, routed experts by
// all-to-all; engine/expert-all-to-all.ts, with exact dispatch — counts, rows, outputs per MoE layer — and with padded
// dispatch — the counts inside the rows' segments after a round's first layer) against the leader star (the leader
// runs every sequence, followers host expert slots; engine/expert-parallel.ts), on 2- and 4-pod replicas, the layouts
// rotating from round to round so drifting machine load favours none. Each run is fresh processes (a2a-pod.ts, one
// per pod, 1 kernel thread each, local Gloo over loopback) with the same model (deepseek-v3-tiny, random weights,
// fp8), the same sequences (BENCH_SEQS per pod × pods, BENCH_PROMPT-token prompts (4), BENCH_TOKENS (64) greedy tokens
// each, all started together), timed between barriers:
//   tokens/s (wall) and tokens per CPU-second (all pods' CPU), bytes each pod sends per forward (a forward = one
//   step's pass over every MoE layer; the star's leader counts its forwards, the all-to-all its rounds), what an idle
//   replica costs per pod (CPU fraction over 2 s), what one small alltoallv costs per pod here, and (all-to-all)
//   where a forward's wall time goes.
// Writes bench/results/serve-a2a.json. All pods share this machine's cores (and other work on it).
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { launch } from '../../runtime/src/comm/local-launch.js';
import { config, precision } from './common.js';
import { writeResult } from '../plan/common.js';

const ROUNDS = Number(process.env.BENCH_A2A_ROUNDS ?? 3);
const SEQS = Number(process.env.BENCH_SEQS ?? 4);
const TOKENS = Number(process.env.BENCH_TOKENS ?? 64);
// Short prompts: the prefill forward stays near a decode step's size, so the figures are decode's.
const PROMPT = Number(process.env.BENCH_PROMPT ?? 4);
const PODS = (process.env.BENCH_A2A_PODS ?? '2,4').split(',').map(Number);
const pod = fileURLToPath(new URL('./a2a-pod.js', import.meta.url));
const moeLayers = config.num_hidden_layers - config.first_k_dense_replace;

interface PodOut {
  rank: number; tokens: number; wall: number; cpuSeconds: number; sent: Record<string, number>; layersRun: number; idleCpuFraction: number;
  collective: { wallUs: number; cpuUs: number }; timeMs?: { header: number; exchange: number; collectives: number; experts: number };
}

type Layout = 'star' | 'alltoall' | 'alltoall-padded';
const LAYOUTS: Layout[] = ['star', 'alltoall', 'alltoall-padded'];

async function run(layout: Layout, pods: number) {
  const { results } = await launch({
    script: pod, worldSize: pods, killAfterMs: 600_000,
    env: { BENCH_LAYOUT: layout, BENCH_SEQS: String(SEQS), BENCH_TOKENS: String(TOKENS), BENCH_PROMPT: String(PROMPT), MOE_NUM_THREADS: '1' },
  });
  for (const r of results) if (r.code !== 0) throw new Error(`${layout} ${pods} pods: rank ${r.rank} exited ${r.code}: ${r.stderr.slice(-2000)}`);
  const out = results.map((r) => JSON.parse(r.stdout.trim().split('\n').pop()!) as PodOut).sort((a, b) => a.rank - b.rank);
  const tokens = out.reduce((a, o) => a + o.tokens, 0);
  const wall = Math.max(...out.map((o) => o.wall));
  const cpu = out.reduce((a, o) => a + o.cpuSeconds, 0);
  // Forwards of the replica's step loop: the star's leader runs them all; all-to-all pods all run the same rounds.
  const forwards = Math.max(...out.map((o) => o.layersRun)) / moeLayers;
  const bytes = (o: PodOut) => Object.values(o.sent).reduce((a, b) => a + b, 0);
  return {
    tokens, wallSeconds: +wall.toFixed(3), cpuSeconds: +cpu.toFixed(3), tokensPerSecond: +(tokens / wall).toFixed(1), tokensPerCpuSecond: +(tokens / cpu).toFixed(1),
    forwards, bytesPerPodPerForward: out.map((o) => Math.round(bytes(o) / forwards)), sentByKind: out.map((o) => o.sent),
    idleCpuFractionPerPod: out.map((o) => +o.idleCpuFraction.toFixed(4)),
    // One 1 KB-per-pair alltoallv on this machine, per pod (the all-to-all runs 1 + 3 per MoE layer of these per step).
    collectiveUsPerPod: out.map((o) => o.collective),
    // All-to-all, per pod and forward, wall ms: the whole forward, the step header, the MoE exchanges (and of them
    // the collectives awaited and the experts run); the rest of a forward is the pod's own step (attention, dense
    // layers, router, combine, head, sampling).
    ...(layout !== 'star' ? {
      msPerForward: out.map((o) => {
        const t = o.timeMs!;
        const f = (x: number) => +(x / forwards).toFixed(3);
        return { forward: f(o.wall * 1000), header: f(t.header), exchange: f(t.exchange), collectives: f(t.collectives), experts: f(t.experts) };
      }),
    } : {}),
  };
}

const load0 = loadavg();
const lscpu = execFileSync('lscpu', { encoding: 'utf8' }).split('\n').find((l) => l.startsWith('Model name'))?.replace(/^Model name:\s*/, '');
type R = Awaited<ReturnType<typeof run>>;
const got: Record<string, R[]> = {};
for (let r = 0; r < ROUNDS; r++) {
  for (const pods of PODS) {
    // The layouts rotate from round to round.
    for (let i = 0; i < LAYOUTS.length; i++) {
      const layout = LAYOUTS[(i + r) % LAYOUTS.length];
      const x = await run(layout, pods);
      (got[`${layout}-${pods}`] ??= []).push(x);
      process.stderr.write(`round ${r + 1}/${ROUNDS} ${pods} pods ${layout}: ${x.tokensPerSecond} tok/s, ${x.tokensPerCpuSecond} tok/CPU-s, bytes/pod/forward ${JSON.stringify(x.bytesPerPodPerForward)}, idle CPU ${JSON.stringify(x.idleCpuFractionPerPod)}\n`);
    }
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results: Record<string, unknown> = {};
for (const pods of PODS) {
  const s = got[`star-${pods}`];
  const med = (rs: R[], k: 'tokensPerSecond' | 'tokensPerCpuSecond') => median(rs.map((x) => x[k]));
  const out: Record<string, unknown> = {};
  for (const layout of LAYOUTS) {
    const a = got[`${layout}-${pods}`];
    out[layout] = { tokensPerSecond: med(a, 'tokensPerSecond'), tokensPerCpuSecond: med(a, 'tokensPerCpuSecond'), rounds: a };
    if (layout !== 'star') {
      out[`ratio-${layout}-to-star`] = { tokensPerSecond: +(med(a, 'tokensPerSecond') / med(s, 'tokensPerSecond')).toFixed(3), tokensPerCpuSecond: +(med(a, 'tokensPerCpuSecond') / med(s, 'tokensPerCpuSecond')).toFixed(3) };
    }
  }
  results[`${pods}-pods`] = out;
}
const file = writeResult('serve-a2a', {
  model: 'deepseek-v3-tiny (random weights, byte prompts)', precision, lscpu, loadavgBefore: load0.map((x) => +x.toFixed(2)),
  sequencesPerPod: SEQS, tokensPerSequence: TOKENS, promptTokens: PROMPT, rounds: ROUNDS, kernelThreadsPerPod: 1,
  setup: 'one Node process per pod on this machine, Gloo over loopback; star: the leader runs every sequence (maxBatch = pods × sequences per pod), all-to-all: each pod its own (maxBatch = sequences per pod), exact dispatch (3 collectives per MoE layer) or padded (2 after a round\u2019s first layer); medians over rounds, layouts rotating',
  results,
});
process.stderr.write(`wrote ${file}\n`);
