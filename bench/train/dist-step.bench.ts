// Step time of the 8-rank demo layout (examples/demo/tiny-8-ranks.yaml: tiny preset, DualPipe over 2 pipeline ranks ×
// 2-way expert parallelism × 2-way ZeRO-1 data parallelism, 16 sequences of 64 tokens per step, FP8) run by the pod
// entrypoint (runtime/src/parallel/main.ts) as 8 local processes with the operator's plan document, one kernel thread
// each. With BENCH_BASELINE_DIST (the dist/ folder of an older build, e.g. a clone at an earlier commit) the same
// layout runs on that build too, alternating with this one in rounds, so "before" and "after" share the machine's
// load. Each round also launches the layout for one step: the difference of the two launches' CPU seconds (all ranks),
// over the difference of their steps, is the CPU cost of a step without the start-up, which on 2 shared cores is
// steadier than the wall time. Env: BENCH_DIST_ROUNDS (2), BENCH_DIST_STEPS (6; the first is warm-up). Writes
// bench/results/dist-step.json.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch } from '../../runtime/src/comm/local-launch.js';
import { writeResult } from '../result-file.js';

const ROUNDS = Number(process.env.BENCH_DIST_ROUNDS ?? 2);
const STEPS = Number(process.env.BENCH_DIST_STEPS ?? 6);
if (!(Number.isInteger(ROUNDS) && ROUNDS >= 1)) throw new Error(`BENCH_DIST_ROUNDS must be an integer >= 1, got ${process.env.BENCH_DIST_ROUNDS}`);
if (!(Number.isInteger(STEPS) && STEPS >= 2)) throw new Error(`BENCH_DIST_STEPS must be an integer >= 2 (the first is warm-up), got ${process.env.BENCH_DIST_STEPS}`);
const WORLD = 8, GLOBAL_BATCH = 16, SEQ = 64;

const here = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const builds = [{ name: 'current', dist: here }];
if (process.env.BENCH_BASELINE_DIST) builds.push({ name: 'baseline', dist: path.resolve(process.env.BENCH_BASELINE_DIST) });

// The demo job's plan (what the operator mounts as MOE_PLAN); rank = ep + EP·pp + EP·PP·dp (order tp, ep, pp, dp).
const planDoc = (runDir: string, steps: number) => ({
  job: { namespace: 'bench', name: 'tiny-8-ranks', attempt: 0 },
  plan: {
    model: { preset: 'deepseek-v3-tiny' },
    parallelism: { pipeline: { stages: 2, schedule: 'DualPipe', microBatches: 4 }, expert: 2, data: 2 },
    rankTable: { order: 'tp,ep,pp,dp', pp: [0, 0, 1, 1, 0, 0, 1, 1], ep: [0, 1, 0, 1, 0, 1, 0, 1], dp: [0, 0, 0, 0, 1, 1, 1, 1], tp: [0, 0, 0, 0, 0, 0, 0, 0] },
  },
  training: { steps, globalBatchSize: GLOBAL_BATCH, sequenceLength: SEQ, seed: 7, optimizer: { learningRate: 0.003, minLearningRate: 0.0003, warmupSteps: 4 } },
  precision: { format: 'e4m3' },
  data: { format: 'synthetic' },
  checkpoint: { dir: runDir, intervalSteps: 0, keep: 1 },
});

/** CPU seconds of this process's waited-for children (/proc/self/stat cutime + cstime). */
function childCpuSeconds(): number {
  const f = readFileSync('/proc/self/stat', 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  // Fields 16 and 17 of stat (cutime, cstime) are 13 and 14 after the state field.
  return (Number(rest[13]) + Number(rest[14])) / 100;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b), m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

interface Run { stepSeconds: number[]; medianStepSeconds: number; tokensPerSec: number; cpuSeconds: number; wallSeconds: number; losses: number[]; cpuSecondsPerStep?: number }

async function runOnce(dist: string, steps = STEPS): Promise<Run> {
  const tmp = mkdtempSync(path.join(tmpdir(), 'moe-dist-step-'));
  try {
    const planFile = path.join(tmp, 'plan.json');
    writeFileSync(planFile, JSON.stringify(planDoc(path.join(tmp, 'run'), steps)));
    const cpu0 = childCpuSeconds(), t0 = Date.now();
    const { results } = await launch({
      script: path.join(dist, 'runtime/src/parallel/main.js'), worldSize: WORLD, killAfterMs: 20 * 60_000,
      env: { MOE_PLAN: planFile, MOE_RESTART: '0', MOE_NUM_THREADS: '1' },
    });
    const wallSeconds = (Date.now() - t0) / 1000, cpuSeconds = childCpuSeconds() - cpu0;
    for (const r of results) if (r.code !== 0) throw new Error(`dist-step: rank ${r.rank} of ${dist} exited ${r.code} ${r.signal ?? ''}: ${r.stderr.slice(-2000)}`);
    const logged = results.find((r) => r.rank === 0)!.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).filter((j) => j.msg === 'step');
    if (logged.length !== steps) throw new Error(`dist-step: rank 0 logged ${logged.length} steps, expected ${steps}`);
    const stepSeconds = logged.map((s) => (GLOBAL_BATCH * SEQ) / s.tokensPerSec);
    const med = median(stepSeconds.slice(steps > 1 ? 1 : 0));
    return { stepSeconds, medianStepSeconds: med, tokensPerSec: (GLOBAL_BATCH * SEQ) / med, cpuSeconds, wallSeconds, losses: logged.map((s) => s.loss) };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

const runs = new Map<string, Run[]>(builds.map((b) => [b.name, []]));
for (let r = 0; r < ROUNDS; r++) {
  for (const b of builds) {
    const res = await runOnce(b.dist);
    const one = await runOnce(b.dist, 1);
    res.cpuSecondsPerStep = (res.cpuSeconds - one.cpuSeconds) / (STEPS - 1);
    runs.get(b.name)!.push(res);
    process.stderr.write(`round ${r} ${b.name}: median step ${res.medianStepSeconds.toFixed(2)} s (${res.tokensPerSec.toFixed(0)} tokens/s), ${res.cpuSecondsPerStep.toFixed(2)} CPU-s per step (${res.cpuSeconds.toFixed(1)} and ${one.cpuSeconds.toFixed(1)} CPU-s for ${STEPS} and 1 steps), load ${loadavg()[0].toFixed(1)}\n`);
  }
}
const summary = Object.fromEntries(builds.map((b) => {
  const rs = runs.get(b.name)!;
  return [b.name, { dist: b.dist, medianStepSeconds: median(rs.map((x) => x.medianStepSeconds)), tokensPerSec: median(rs.map((x) => x.tokensPerSec)), cpuSecondsPerStep: median(rs.map((x) => x.cpuSecondsPerStep!)), cpuSecondsPerLaunch: median(rs.map((x) => x.cpuSeconds)), runs: rs }];
}));
const perRound = builds.length > 1 ? runs.get('baseline')!.map((b, i) => b.medianStepSeconds / runs.get('current')![i].medianStepSeconds) : undefined;
const perRoundCpu = builds.length > 1 ? runs.get('baseline')!.map((b, i) => b.cpuSecondsPerStep! / runs.get('current')![i].cpuSecondsPerStep!) : undefined;
const result = {
  layout: 'deepseek-v3-tiny, DualPipe PP=2 (4 micro-batches) x EP=2 x DP=2 (ZeRO-1), 8 ranks as local processes, fp8, 16 x 64 tokens per step, 1 kernel thread per rank',
  steps: STEPS, rounds: ROUNDS,
  ...summary,
  ...(perRound ? { speedupByRound: perRound, speedupMedian: median(perRound), cpuSpeedupByRound: perRoundCpu, cpuSpeedupMedian: median(perRoundCpu!) } : {}),
  note: 'step time is rank 0\'s wall time per step (median after the first); CPU-s per step: all 8 ranks, the launch of STEPS steps minus the launch of 1, over STEPS - 1',
};
const file = writeResult('dist-step', result);
console.log(`wrote ${file}`);
console.log(JSON.stringify({ ...result, current: { ...summary.current, runs: undefined }, ...(summary.baseline ? { baseline: { ...summary.baseline, runs: undefined } } : {}) }, null, 2));
