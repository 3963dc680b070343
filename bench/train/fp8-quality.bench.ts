// FP8-vs-BF16 training quality, sized to test DeepSeek-V3's bar (FP8's loss within 0.25% of BF16's) where the machine
// allows. Design, on the deepseek-v3-tiny preset (byte vocabulary, batch 8 × 64, 60 steps of AdamW, peak lr 1e-3
// annealed by cosine to 1e-5 at the last step; the trainer's defaults otherwise):
//  - a pair is one FP8 and one BF16 run from the same seed: the seed fixes the initial weights (buildParams' Rng) and
//    the data order (the Sampler's permutation) and nothing else draws randomness, so the two runs differ only by
//    precision; every pair's fingerprints of the initial weights and of every training batch are compared and the
//    bench fails if they differ;
//  - the outcome per pair is the relative difference (fp8 − bf16) / bf16 of the held-out loss on a fixed set of held-out
//    windows (the corpus's last 5%), averaged over the last LAST_EVALS evaluation points (default 1: the annealed end);
//  - an internal pilot of PILOT pairs estimates the per-pair standard deviation sd; the run then grows to the fewest
//    pairs n with t_{0.975, n−1} · sd / √n ≤ TARGET (paired-stats.ts pairsNeeded; TARGET below the 0.25% bar leaves
//    room for the pilot's own error), capped at MAX_PAIRS and by the wall-clock budget (no new pair starts after
//    BUDGET_MIN minutes); the reported t interval is over all pairs, pilot included (re-sizing on the variance alone
//    leaves the interval's level practically intact), and the JSON says how many pairs the bar would need;
//  - if that interval lies entirely above +0.25%, ABLATE_PAIRS pairs of each recipe change (fp8-quality-run.ts
//    VARIANTS) against BF16 show which part costs the accuracy.
// Each run is its own process (one kernel thread; see train.bench.ts on the native pool), WORKERS at a time.
// Env: BENCH_FP8Q_STEPS (60), BENCH_FP8Q_LR (0.001), BENCH_FP8Q_MIN_LR_RATIO (0.01), BENCH_FP8Q_EMA (unset: the live
// weights), BENCH_FP8Q_WARMUP / _BATCH / _GAMMA (the trainer's), BENCH_FP8Q_DENSE (0), BENCH_FP8Q_PILOT (3), BENCH_FP8Q_PAIRS (auto = from
// the pilot, or a number), BENCH_FP8Q_TARGET (0.002), BENCH_FP8Q_MAX_PAIRS (40), BENCH_FP8Q_BUDGET_MIN (40, wall
// minutes after which no new pair starts), BENCH_FP8Q_EVAL_EVERY (20), BENCH_FP8Q_EVAL_WINDOWS (128), BENCH_FP8Q_LAST_EVALS (1), BENCH_FP8Q_WORKERS (2),
// BENCH_FP8Q_ABLATE (auto | always | never), BENCH_FP8Q_ABLATE_PAIRS (4).
// Writes bench/results/fp8-quality.json, fp8-quality.svg (mean training and held-out loss by step, both precisions) and
// fp8-quality-diff.svg (the paired difference by step with its interval; fp8-quality-charts.ts).
import { execFile, execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { mean, meanInterval, pairsNeeded, sampleSd } from './paired-stats.js';
import type { RunResult, RunSpec, Variant } from './fp8-quality-run.js';
import { writeQualityCharts } from './fp8-quality-charts.js';
import { resultsDir, writeResult } from '../result-file.js';

const env = (k: string, d: string): string => process.env[k] ?? d;
const STEPS = Number(env('BENCH_FP8Q_STEPS', '60'));
const optNum = (k: string): number | undefined => (process.env[k] === undefined ? undefined : Number(process.env[k]));
// Schedule and model knobs (fp8-quality-run.ts RunSpec). The design's schedule: peak lr 1e-3 (a third of the
// trainer's) annealed to 1% of it by the last step, where pilots found paired runs far closer than at the trainer's
// 3e-3 → 3e-4 (README: FP8 vs BF16 quality); the rest, unset, are the trainer's defaults.
const LR = Number(env('BENCH_FP8Q_LR', '0.001'));
const MIN_LR_RATIO = Number(env('BENCH_FP8Q_MIN_LR_RATIO', '0.01'));
const WARMUP = optNum('BENCH_FP8Q_WARMUP');
const BATCH = optNum('BENCH_FP8Q_BATCH');
const GAMMA = optNum('BENCH_FP8Q_GAMMA');
// The outcome's weights: a moving average with this decay per step (DeepSeek-V3's EMA), or the live weights (unset).
const EMA = optNum('BENCH_FP8Q_EMA');
const DENSE = env('BENCH_FP8Q_DENSE', '0');
const PILOT = Number(env('BENCH_FP8Q_PILOT', '3'));
const PAIRS = env('BENCH_FP8Q_PAIRS', 'auto');
const TARGET = Number(env('BENCH_FP8Q_TARGET', '0.002'));
const MAX_PAIRS = Number(env('BENCH_FP8Q_MAX_PAIRS', '40'));
const BUDGET_MIN = Number(env('BENCH_FP8Q_BUDGET_MIN', '40'));
const EVAL_EVERY = Number(env('BENCH_FP8Q_EVAL_EVERY', '20'));
const EVAL_WINDOWS = Number(env('BENCH_FP8Q_EVAL_WINDOWS', '128'));
const LAST_EVALS = Number(env('BENCH_FP8Q_LAST_EVALS', '1'));
const WORKERS = Number(env('BENCH_FP8Q_WORKERS', '2'));
const ABLATE = env('BENCH_FP8Q_ABLATE', 'auto');
const ABLATE_PAIRS = Number(env('BENCH_FP8Q_ABLATE_PAIRS', '4'));
const BAR = 0.0025;
// A hung kernel pool must not hang the bench: a run gets this long, and one retry.
const RUN_TIMEOUT_MS = 30 * 60_000;

for (const [k, v, min] of [['BENCH_FP8Q_STEPS', STEPS, 1], ['BENCH_FP8Q_PILOT', PILOT, 2], ['BENCH_FP8Q_MAX_PAIRS', MAX_PAIRS, 2],
  ['BENCH_FP8Q_EVAL_EVERY', EVAL_EVERY, 1], ['BENCH_FP8Q_EVAL_WINDOWS', EVAL_WINDOWS, 1], ['BENCH_FP8Q_LAST_EVALS', LAST_EVALS, 1],
  ['BENCH_FP8Q_WORKERS', WORKERS, 1], ['BENCH_FP8Q_ABLATE_PAIRS', ABLATE_PAIRS, 2]] as const) {
  if (!Number.isInteger(v) || v < min) throw new Error(`${k} must be an integer >= ${min}, got ${process.env[k]}`);
}
if (PAIRS !== 'auto' && !(Number.isInteger(Number(PAIRS)) && Number(PAIRS) >= 2)) throw new Error(`BENCH_FP8Q_PAIRS must be auto or an integer >= 2, got ${PAIRS}`);
if (!(LR > 0 && LR < 1)) throw new Error(`BENCH_FP8Q_LR must be a learning rate in (0, 1), e.g. 0.001, got ${process.env.BENCH_FP8Q_LR}`);
if (!(MIN_LR_RATIO >= 0 && MIN_LR_RATIO <= 1)) throw new Error(`BENCH_FP8Q_MIN_LR_RATIO must be a fraction of the peak lr in [0, 1], e.g. 0.01, got ${process.env.BENCH_FP8Q_MIN_LR_RATIO}`);
if (WARMUP !== undefined && !(Number.isInteger(WARMUP) && WARMUP >= 1)) throw new Error(`BENCH_FP8Q_WARMUP must be an integer >= 1 (steps), got ${process.env.BENCH_FP8Q_WARMUP}`);
if (BATCH !== undefined && !(Number.isInteger(BATCH) && BATCH >= 1)) throw new Error(`BENCH_FP8Q_BATCH must be an integer >= 1 (sequences per step), got ${process.env.BENCH_FP8Q_BATCH}`);
if (GAMMA !== undefined && !(GAMMA >= 0)) throw new Error(`BENCH_FP8Q_GAMMA must be >= 0 (expert-bias update speed), got ${process.env.BENCH_FP8Q_GAMMA}`);
if (EMA !== undefined && !(EMA >= 0 && EMA < 1)) throw new Error(`BENCH_FP8Q_EMA must be a decay per step in [0, 1), e.g. 0.9, got ${process.env.BENCH_FP8Q_EMA}`);
if (DENSE !== '0' && DENSE !== '1') throw new Error(`BENCH_FP8Q_DENSE must be 0 (the MoE preset) or 1 (every layer dense, a control), got ${DENSE}`);
if (!(BUDGET_MIN > 0)) throw new Error(`BENCH_FP8Q_BUDGET_MIN must be > 0 minutes, got ${process.env.BENCH_FP8Q_BUDGET_MIN}`);
if (!(TARGET > 0 && TARGET < 1)) throw new Error(`BENCH_FP8Q_TARGET must be a fraction in (0, 1), e.g. 0.002, got ${process.env.BENCH_FP8Q_TARGET}`);
if (!['auto', 'always', 'never'].includes(ABLATE)) throw new Error(`BENCH_FP8Q_ABLATE must be auto, always or never, got ${ABLATE}`);
if (Math.ceil(STEPS / EVAL_EVERY) + 1 < LAST_EVALS) throw new Error(`BENCH_FP8Q_LAST_EVALS ${LAST_EVALS} exceeds the evaluation points of ${STEPS} steps every ${EVAL_EVERY}`);

const KNOBS: Partial<RunSpec> = Object.fromEntries(Object.entries({ lr: LR, minLrRatio: MIN_LR_RATIO, warmup: WARMUP, batch: BATCH, gamma: GAMMA, ema: EMA, dense: DENSE === '1' || undefined })
  .filter(([, v]) => v !== undefined));

const runScript = fileURLToPath(new URL('./fp8-quality-run.js', import.meta.url));
const execFileP = promisify(execFile);
const started = Date.now();
const log = (s: string): void => void process.stderr.write(`[fp8-quality ${((Date.now() - started) / 60_000).toFixed(1)} min] ${s}\n`);

async function runChild(spec: RunSpec): Promise<RunResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      const { stdout } = await execFileP(process.execPath, [runScript, JSON.stringify(spec)], {
        env: { ...process.env, MOE_NUM_THREADS: process.env.MOE_NUM_THREADS ?? '1' }, timeout: RUN_TIMEOUT_MS, maxBuffer: 1 << 24 });
      return JSON.parse(stdout.trim().split('\n').at(-1)!) as RunResult;
    } catch (e) {
      if (attempt >= 2) throw e;
      log(`${spec.variant} seed ${spec.seed} failed (${(e as Error).message.split('\n')[0]}); retrying once`);
    }
  }
}

/**
 * Runs the specs (pairs: a at even, b at odd indices) WORKERS at a time; results in spec order. After `stopAt` (ms since
 * the epoch) no new pair starts; the pairs already started finish, the rest stay undefined.
 */
async function runAll(specs: RunSpec[], stopAt = Infinity): Promise<(RunResult | undefined)[]> {
  const out: (RunResult | undefined)[] = new Array(specs.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(WORKERS, specs.length) }, async () => {
    while (next < specs.length) {
      if (next % 2 === 0 && Date.now() > stopAt) {
        log(`time budget spent: no new pairs after ${next / 2}`);
        next = specs.length;
        break;
      }
      const i = next++;
      out[i] = await runChild(specs[i]);
      log(`${specs[i].variant} seed ${specs[i].seed}: held-out ${out[i]!.evals.at(-1)!.loss.toFixed(4)}, ${out[i]!.tokensPerSec.toFixed(0)} tok/s`);
    }
  }));
  return out;
}

interface Pair {
  seed: number;
  a: RunResult;
  b: RunResult;
  /** (a − b) / b of the held-out loss averaged over the last LAST_EVALS evaluation points. */
  rel: number;
}

// The outcome's evaluations: the moving average's when the runs keep one, else the live weights'.
const outcomeEvals = (r: RunResult): RunResult['evals'] => r.emaEvals ?? r.evals;
const finalHeldOut = (r: RunResult, evals = outcomeEvals): number => mean(evals(r).slice(-LAST_EVALS).map((e) => e.loss));
const relOf = (a: RunResult, b: RunResult, evals = outcomeEvals): number => (finalHeldOut(a, evals) - finalHeldOut(b, evals)) / finalHeldOut(b, evals);

/** Up to n pairs of variant a against variant b on seeds base, base+1, … (fewer past stopAt); checks that each pair shares init and data. */
async function pairs(a: Variant, b: Variant, base: number, n: number, stopAt = Infinity): Promise<Pair[]> {
  const spec = (variant: Variant, seed: number): RunSpec => ({ variant, seed, steps: STEPS, evalEvery: EVAL_EVERY, evalWindows: EVAL_WINDOWS, ...KNOBS });
  const seeds = Array.from({ length: n }, (_, i) => base + i);
  const rs = await runAll(seeds.flatMap((s) => [spec(a, s), spec(b, s)]), stopAt);
  const done = seeds.filter((_, i) => rs[2 * i] && rs[2 * i + 1]).length;
  const ps = seeds.slice(0, done).map((seed, i) => {
    const ra = rs[2 * i]!, rb = rs[2 * i + 1]!;
    if (ra.initHash !== rb.initHash || ra.dataHash !== rb.dataHash) {
      throw new Error(`seed ${seed}: ${a} and ${b} runs do not share init/data (init ${ra.initHash} vs ${rb.initHash}, data ${ra.dataHash} vs ${rb.dataHash})`);
    }
    return { seed, a: ra, b: rb, rel: relOf(ra, rb) };
  });
  if (new Set(ps.map((p) => p.a.initHash)).size !== done || new Set(ps.map((p) => p.a.dataHash)).size !== done) {
    throw new Error('different seeds gave the same init or data fingerprint: the seed does not reach the trainer');
  }
  return ps;
}

const summary = (ps: Pair[]) => ({
  pairs: ps.map((p) => ({ seed: p.seed, a: finalHeldOut(p.a), b: finalHeldOut(p.b), rel: p.rel })),
  interval95: meanInterval(ps.map((p) => p.rel)),
  // A heavy tail shows here rather than in the mean: in how many pairs the first variant ended worse.
  aWorseInPairs: ps.filter((p) => p.rel > 0).length,
});

function verdict(lo: number, hi: number): string {
  if (hi - lo > 2 * BAR) return 'unresolved: the interval is wider than ±0.25%';
  if (lo > BAR) return 'worse than the bar: the whole interval lies above +0.25%';
  if (hi < BAR) return lo > -BAR ? 'within the bar: the whole interval lies inside ±0.25%' : 'not worse than the bar: the whole interval lies below +0.25%';
  return 'inconclusive: the interval straddles +0.25%';
}

const loadStart = loadavg();
log(`pilot: ${PILOT} pairs × ${STEPS} steps`);
const pilot = await pairs('fp8', 'bf16', 1000, PILOT);
const pilotSd = sampleSd(pilot.map((p) => p.rel));
const needed = pairsNeeded(pilotSd, TARGET);
const wanted = Math.max(PILOT, PAIRS === 'auto' ? Math.min(needed, MAX_PAIRS) : Number(PAIRS));
log(`pilot sd ${(pilotSd * 100).toFixed(3)}% → ${needed} pairs for ±${(TARGET * 100).toFixed(2)}%; running up to ${wanted} in all, no new pair after ${BUDGET_MIN} min`);
// An internal pilot: its pairs count in the final interval (re-sizing on the variance alone, not on the difference).
const more = await pairs('fp8', 'bf16', 1000 + PILOT, wanted - PILOT, started + BUDGET_MIN * 60_000);
const main = [...pilot, ...more];
const pairSeconds = mean(main.map((p) => p.a.seconds + p.b.seconds)) / WORKERS;
const ci = meanInterval(main.map((p) => p.rel));
log(`main: ${(ci.mean * 100).toFixed(3)}% [${(ci.lo * 100).toFixed(3)}%, ${(ci.hi * 100).toFixed(3)}%]`);

const ablations: Record<string, unknown> = {};
if (ABLATE === 'always' || (ABLATE === 'auto' && ci.lo > BAR)) {
  for (const v of ['fp8-head'] as const) {
    const ps = await pairs(v, 'bf16', 3000, ABLATE_PAIRS);
    const same = await pairs('fp8', 'bf16', 3000, ABLATE_PAIRS);
    ablations[v] = { vsBf16: summary(ps), recipeVsBf16SameSeeds: summary(same) };
  }
}

// Mean curves over all pairs.
const meanCurve = (rs: RunResult[], f: (r: RunResult) => [number, number][]): [number, number][] =>
  f(rs[0]).map(([x], i) => [x, mean(rs.map((r) => f(r)[i][1]))]);
const train = (r: RunResult): [number, number][] => r.trainLoss.map((l, i) => [i + 1, l]);
const held = (r: RunResult): [number, number][] => r.evals.map((e) => [e.step, e.loss]);
const heldEma = (r: RunResult): [number, number][] => r.emaEvals!.map((e) => [e.step, e.loss]);
const withEma = EMA !== undefined;
const fp8Runs = main.map((p) => p.a), bf16Runs = main.map((p) => p.b);
const curves = {
  fp8: { train: meanCurve(fp8Runs, train), heldOut: meanCurve(fp8Runs, held), ...(withEma ? { heldOutEma: meanCurve(fp8Runs, heldEma) } : {}) },
  bf16: { train: meanCurve(bf16Runs, train), heldOut: meanCurve(bf16Runs, held), ...(withEma ? { heldOutEma: meanCurve(bf16Runs, heldEma) } : {}) },
};
// The paired relative held-out difference at each evaluation point, with its interval: how the gap develops.
const diffByStep = outcomeEvals(fp8Runs[0]).map((e, i) => ({ step: e.step,
  ...meanInterval(main.map((p) => (outcomeEvals(p.a)[i].loss - outcomeEvals(p.b)[i].loss) / outcomeEvals(p.b)[i].loss)) }));
// With the moving average as the outcome, the live weights' difference too (the same pairs, the noisier measure).
const liveWeights = withEma ? meanInterval(main.map((p) => relOf(p.a, p.b, (r) => r.evals))) : undefined;

let commit = 'unknown';
try {
  commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', cwd: fileURLToPath(new URL('../../../', import.meta.url)) }).trim();
} catch { /* not a git checkout */ }
const result = {
  commit,
  design: {
    preset: 'deepseek-v3-tiny', tokenizer: 'bytes', steps: STEPS, knobs: KNOBS,
    // What the runs used: AdamW, linear warm-up, cosine from lr to minLr; the rest the trainer's defaults.
    setup: main[0].a.setup,
    pairing: 'same seed → same initial weights and same batch order in both precisions; fingerprints checked per pair',
    heldOut: { weights: withEma ? `moving average of the weights, decay ${EMA} per step` : 'the live weights', windows: EVAL_WINDOWS, tokensPredicted: EVAL_WINDOWS * main[0].a.setup.seqLen, evalEvery: EVAL_EVERY, lastEvalsAveraged: LAST_EVALS, source: 'the corpus\'s last 5%, consecutive windows, the same set for every run' },
    outcome: '(fp8 − bf16) / bf16 of the held-out main-model loss averaged over the last evaluation points, one value per pair',
    interval: 'Student t, 95%, over all pairs (pilot included)',
    power: { pilotPairs: PILOT, pilotSd, targetHalfWidth: TARGET, pairsNeeded: needed, maxPairs: MAX_PAIRS, budgetMinutes: BUDGET_MIN,
      pairsRun: main.length, wallSecondsPerPair: pairSeconds,
      rule: 'fewest n with t_{0.975,n-1} · pilotSd / √n ≤ target (the target sits below the 0.25% bar to allow for the pilot\'s error in sd), capped by maxPairs and by the time budget (no new pair after it); the pilot pairs count in the interval',
      // With the main run's own sd: how many pairs the bar needs, and how long that would take here.
      pairsNeededForBarFromMainSd: pairsNeeded(ci.sd, BAR), hoursForThoseHere: (pairsNeeded(ci.sd, BAR) * pairSeconds) / 3600 },
    workers: WORKERS, kernelThreadsPerRun: Number(process.env.MOE_NUM_THREADS ?? 1),
  },
  bar: BAR,
  pilot: summary(pilot),
  all: summary(main),
  result: { meanRelativeDiff: ci.mean, interval95: [ci.lo, ci.hi], halfWidth: ci.halfWidth, sd: ci.sd, pairs: ci.n, verdict: verdict(ci.lo, ci.hi) },
  ...(liveWeights ? { liveWeights: { meanRelativeDiff: liveWeights.mean, interval95: [liveWeights.lo, liveWeights.hi], sd: liveWeights.sd } } : {}),
  ablations,
  diffByStep,
  curves,
};
// machine.loadavg is the load at the end; the start's, the wall time and the runs' speed are beside it.
const file = writeResult('fp8-quality', result, { loadavgStart: loadStart.map((x) => +x.toFixed(2)), minutes: (Date.now() - started) / 60_000,
  tokensPerSecPerRun: { fp8: mean(fp8Runs.map((r) => r.tokensPerSec)), bf16: mean(bf16Runs.map((r) => r.tokensPerSec)) } });
writeQualityCharts(resultsDir, { pairs: main.length, curves, diffByStep });
console.log(`wrote ${file} and its charts`);
console.log(JSON.stringify({ ...result, curves: undefined, diffByStep: diffByStep.map((d) => ({ step: d.step, mean: d.mean, lo: d.lo, hi: d.hi })) }, null, 2));
