// The training bench's speed part: our modes and transformers' DeepseekV3ForCausalLM (hf_train_peer.py) on the same
// model shape, batch, sequence length and thread count, alternated in rounds so that the shared machine's load falls
// on both alike. Each of our measurements is its own process (train-speed.ts): the kernel pool's size is fixed per
// process. Env: BENCH_SPEED_ROUNDS (2), BENCH_SPEED_STEPS (8), BENCH_SPEED_THREADS ("1,2"), BENCH_FP32_STEPS (3: the
// fp32 mode runs plain TypeScript loops and is slow), MOE_TORCH_PYTHON (a python with torch and transformers:
// bench/train/requirements-torch.txt), BENCH_BASELINE_DIST (the dist/ folder of an older build: its fp8 and bf16 modes
// run in the same rounds, so the before/after breakdown shares the machine's load).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { byteTokenizer } from '../../runtime/src/data/tokenizer.js';
import { toHfConfig } from '../../runtime/src/checkpoint/hf-config.js';
import { modelConfig } from '../../runtime/src/model/config.js';
import { defaultTrainOptions } from '../../runtime/src/train/options.js';
import { findPython } from '../../test/util/python.js';
import type { SpeedResult, SpeedSpec } from './train-speed.js';

const ROUNDS = Number(process.env.BENCH_SPEED_ROUNDS ?? 2);
const STEPS = Number(process.env.BENCH_SPEED_STEPS ?? 8);
const FP32_STEPS = Number(process.env.BENCH_FP32_STEPS ?? 3);
const THREADS = (process.env.BENCH_SPEED_THREADS ?? '1,2').split(',').map(Number);
// A hung kernel pool (see train.bench.ts) must not hang the bench: each measurement gets this long.
const CHILD_TIMEOUT_MS = 15 * 60_000;

/** Our modes: MTP off is the like-for-like comparison with transformers (which has no MTP); fp8 with MTP is our default. */
const MODES: { name: string; spec: SpeedSpec }[] = [
  { name: 'fp8', spec: { precision: 'fp8', mtp: false, steps: STEPS } },
  { name: 'bf16', spec: { precision: 'bf16', mtp: false, steps: STEPS } },
  { name: 'fp8+mtp', spec: { precision: 'fp8', mtp: true, steps: STEPS } },
  { name: 'bf16+mtp', spec: { precision: 'bf16', mtp: true, steps: STEPS } },
  { name: 'fp32', spec: { precision: 'fp32', mtp: false, steps: FP32_STEPS } },
];
const PEER_DTYPES = ['float32', 'bfloat16'] as const;

const BASELINE = process.env.BENCH_BASELINE_DIST;
const BASELINE_MODES = BASELINE ? MODES.filter((m) => m.name === 'fp8' || m.name === 'bf16').map((m) => ({ ...m, name: `${m.name}@baseline`, dist: BASELINE })) : [];

interface PeerResult {
  tokens_per_sec: number;
  step_seconds: number;
  cpu_seconds_per_step?: number;
  tokens_per_cpu_sec?: number;
  threads: number;
  torch: string;
  transformers: string;
  dtype: string;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b), m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function ours(spec: SpeedSpec, threads: number, dist?: string): SpeedResult {
  const script = dist ? `${dist}/bench/train/train-speed.js` : fileURLToPath(new URL('./train-speed.js', import.meta.url));
  const out = execFileSync(process.execPath, [script, JSON.stringify(spec)], {
    encoding: 'utf8', env: { ...process.env, MOE_NUM_THREADS: String(threads) }, timeout: CHILD_TIMEOUT_MS, maxBuffer: 1 << 24,
  });
  return JSON.parse(out.trim().split('\n').at(-1)!) as SpeedResult;
}

function peer(py: string, dtype: string, threads: number): PeerResult {
  const opts = defaultTrainOptions();
  const c = modelConfig(opts.preset, { ...opts.overrides, num_nextn_predict_layers: 0 });
  const text = readFileSync(new URL('../../../examples/corpus/fables.txt', import.meta.url), 'utf8');
  const spec = { config: toHfConfig(c, { maxPositions: 4096 }), batch: opts.batch, seqLen: opts.seqLen, steps: STEPS, threads, dtype,
    tokens: Array.from(byteTokenizer.encode(text).subarray(0, 200_000)) };
  const script = fileURLToPath(new URL('../../../bench/train/hf_train_peer.py', import.meta.url));
  // OMP_WAIT_POLICY=PASSIVE: on a loaded machine PyTorch's spinning OpenMP threads lose most of their time (measured
  // here at 2 threads: 408 tokens/s spinning, 776 passive); the peer gets the better setting.
  const out = execFileSync(py, [script], { input: JSON.stringify(spec), encoding: 'utf8', timeout: CHILD_TIMEOUT_MS, maxBuffer: 1 << 26,
    env: { ...process.env, OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? 'PASSIVE' } });
  return JSON.parse(out.trim().split('\n').at(-1)!) as PeerResult;
}

export function speedRounds(): Record<string, unknown> {
  if (ROUNDS < 1) return { skipped: 'BENCH_SPEED_ROUNDS=0' };
  const py = findPython([process.env.MOE_TORCH_PYTHON, process.env.MOE_PYTHON, 'python3'], ['torch', 'transformers']);
  const byThreads: Record<string, unknown> = {};
  const ourRuns = new Map<string, SpeedResult[]>();
  const peerRuns = new Map<string, PeerResult[]>();
  const key = (threads: number, name: string): string => `${threads}/${name}`;
  const push = <T>(m: Map<string, T[]>, k: string, v: T): void => void m.set(k, [...(m.get(k) ?? []), v]);
  for (let r = 0; r < ROUNDS; r++) {
    for (const threads of THREADS) {
      for (const { name, spec, dist } of [...MODES.map((m) => ({ ...m, dist: undefined as string | undefined })), ...BASELINE_MODES]) {
        const res = ours(spec, threads, dist);
        push(ourRuns, key(threads, name), res);
        process.stderr.write(`round ${r} threads ${threads} ${name}: ${res.tokensPerSec.toFixed(0)} tokens/s, ${res.tokensPerCpuSec?.toFixed(0) ?? '-'} per CPU-s ${JSON.stringify(res.breakdownMs, (_, v) => typeof v === 'number' ? Math.round(v) : v)} load ${loadavg()[0].toFixed(1)}\n`);
      }
      if (py) {
        for (const dtype of PEER_DTYPES) {
          const res = peer(py, dtype, threads);
          push(peerRuns, key(threads, dtype), res);
          process.stderr.write(`round ${r} threads ${threads} transformers ${dtype}: ${res.tokens_per_sec.toFixed(0)} tokens/s, ${res.tokens_per_cpu_sec?.toFixed(0) ?? '-'} per CPU-s load ${loadavg()[0].toFixed(1)}\n`);
        }
      }
    }
  }
  for (const threads of THREADS) {
    const modes: Record<string, unknown> = {};
    const tps: Record<string, number> = {};
    const cps: Record<string, number> = {};
    for (const { name } of [...MODES, ...BASELINE_MODES]) {
      const runs = ourRuns.get(key(threads, name))!;
      tps[name] = median(runs.map((x) => x.tokensPerSec));
      cps[name] = median(runs.map((x) => x.tokensPerCpuSec ?? NaN));
      const last = runs.at(-1)!;
      modes[name] = { tokensPerSec: tps[name], tokensPerSecByRound: runs.map((x) => x.tokensPerSec), tokensPerCpuSec: cps[name],
        tokensPerCpuSecByRound: runs.map((x) => x.tokensPerCpuSec ?? null), stepSeconds: median(runs.map((x) => x.stepSeconds)),
        breakdownMs: last.breakdownMs, breakdownMsByRound: runs.map((x) => x.breakdownMs), kernelPath: last.kernelPath };
    }
    const hf: Record<string, unknown> = {};
    let best: { dtype: string; tokensPerSec: number } | undefined;
    if (py) {
      for (const dtype of PEER_DTYPES) {
        const runs = peerRuns.get(key(threads, dtype))!;
        const t = median(runs.map((x) => x.tokens_per_sec));
        hf[dtype] = { tokensPerSec: t, tokensPerSecByRound: runs.map((x) => x.tokens_per_sec), tokensPerCpuSec: median(runs.map((x) => x.tokens_per_cpu_sec ?? NaN)),
          tokensPerCpuSecByRound: runs.map((x) => x.tokens_per_cpu_sec ?? null), torch: runs[0].torch, transformers: runs[0].transformers };
        if (!best || t > best.tokensPerSec) best = { dtype, tokensPerSec: t };
      }
    }
    // Paired within a round (the load of that moment falls on both sides): each round's ratio, and their median.
    const perRound = (a: string, b: (r: number) => number): number[] => ourRuns.get(key(threads, a))!.map((x, r) => x.tokensPerSec / b(r));
    const ourRound = (name: string) => (r: number): number => ourRuns.get(key(threads, name))![r].tokensPerSec;
    const peerFastest = (r: number): number => Math.max(...PEER_DTYPES.map((dt) => peerRuns.get(key(threads, dt))![r].tokens_per_sec));
    // The same per CPU-second of each process (every thread counted): less moved by the other sessions' load.
    const perRoundCpu = (a: string, b: (r: number) => number): number[] => ourRuns.get(key(threads, a))!.map((x, r) => (x.tokensPerCpuSec ?? NaN) / b(r));
    const ourRoundCpu = (name: string) => (r: number): number => ourRuns.get(key(threads, name))![r].tokensPerCpuSec ?? NaN;
    const peerFastestCpu = (r: number): number => Math.max(...PEER_DTYPES.map((dt) => peerRuns.get(key(threads, dt))![r].tokens_per_cpu_sec ?? NaN));
    const roundsCpu = {
      fp8OverBf16: perRoundCpu('fp8', ourRoundCpu('bf16')),
      ...(py ? { fp8OverTransformersFastest: perRoundCpu('fp8', peerFastestCpu) } : {}),
      ...(BASELINE ? { fp8OverBaselineFp8: perRoundCpu('fp8', ourRoundCpu('fp8@baseline')), bf16OverBaselineBf16: perRoundCpu('bf16', ourRoundCpu('bf16@baseline')) } : {}),
    };
    const rounds = {
      ...(BASELINE ? { fp8OverBaselineFp8: perRound('fp8', ourRound('fp8@baseline')), bf16OverBaselineBf16: perRound('bf16', ourRound('bf16@baseline')) } : {}),
      fp8OverBf16: perRound('fp8', ourRound('bf16')),
      fp8MtpOverBf16Mtp: perRound('fp8+mtp', ourRound('bf16+mtp')),
      ...(py ? { fp8OverTransformersFastest: perRound('fp8', peerFastest), fp8MtpOverTransformersFastest: perRound('fp8+mtp', peerFastest) } : {}),
    };
    byThreads[String(threads)] = {
      ratiosByRound: rounds,
      ratioMedians: Object.fromEntries(Object.entries(rounds).map(([k, v]) => [k, median(v)])),
      ratiosPerCpuSecByRound: roundsCpu,
      ratioPerCpuSecMedians: Object.fromEntries(Object.entries(roundsCpu).map(([k, v]) => [k, median(v)])),
      ours: modes,
      transformers: py ? { python: py, ...hf, fastest: best!.dtype } : { skipped: 'no python with torch and transformers: set MOE_TORCH_PYTHON (bench/train/requirements-torch.txt says how to make one)' },
      fp8OverBf16: tps.fp8 / tps.bf16,
      fp8MtpOverBf16Mtp: tps['fp8+mtp'] / tps['bf16+mtp'],
      fp8OverTransformersFastest: best ? tps.fp8 / best.tokensPerSec : null,
      fp8MtpOverTransformersFastest: best ? tps['fp8+mtp'] / best.tokensPerSec : null,
      bf16OverTransformersBf16: py ? tps.bf16 / (hf.bfloat16 as { tokensPerSec: number }).tokensPerSec : null,
      fp32OverTransformersFp32: py ? tps.fp32 / (hf.float32 as { tokensPerSec: number }).tokensPerSec : null,
    };
  }
  return { rounds: ROUNDS, stepsPerMeasurement: STEPS, fp32Steps: FP32_STEPS, batch: 8, seqLen: 64, ...(BASELINE ? { baselineDist: BASELINE } : {}), byThreads };
}
