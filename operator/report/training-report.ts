// The training report of `moe-runtime report RUN_DIR [OTHER_RUN...]` and `moectl report`: reads each run's metrics.jsonl and writes SVGs into RUN_DIR/report/:
// loss.svg (main loss per step; left out when only GRPO runs are given), fp8-vs-bf16.svg (relative loss difference of the fp8 run against the
// bf16 run, when both are given), experts.svg (expert load per MoE layer over the last logged steps), for SFT
// runs held-out.svg (the held-out assistant-token loss, {step, heldOutLoss} rows), and for GRPO runs ({mode: "grpo"}
// rows) grpo-reward.svg (mean reward per step with ± one standard deviation), grpo-kl.svg, grpo-signal.svg (fraction of
// groups with non-zero reward variance), grpo-length.svg (mean response length), grpo-errors.svg (rewards that threw)
// and, with held-out prompts, grpo-held-out.svg ({mode: "grpo", step, heldOutReward} rows).
// It lives beside the planner, which both the operator side and the runtime import, so neither reaches into the other.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { heatmap, lineChart, type Series } from './svg.js';

export interface MetricRow {
  step: number;
  loss: number;
  mainLoss: number;
  precision?: string;
  tokensPerSec?: number;
  expertLoad?: number[][];
  /** SFT: a held-out evaluation row (no step loss). */
  heldOutLoss?: number;
  /** GRPO: a step's rollouts (runtime/src/post/grpo.ts GrpoMetrics). */
  mode?: string;
  rewardMean?: number;
  rewardStd?: number;
  kl?: number;
  responseLength?: number;
  signalFraction?: number;
  rewardErrors?: number;
  /** GRPO: a held-out row ({mode: "grpo", step, heldOutReward}, no rewardMean). */
  heldOutReward?: number;
}

/** GRPO's held-out reward rows as points, the last per step. */
export function grpoHeldOutPoints(rows: MetricRow[]): [number, number][] {
  const m = new Map<number, number>();
  for (const r of rows) if (r.mode === 'grpo' && Number.isFinite(r.heldOutReward)) m.set(r.step, r.heldOutReward!);
  return [...m].sort((a, b) => a[0] - b[0]);
}

/** GRPO step rows ({mode: "grpo"}), the last per step (a resumed run logs the replayed steps again). */
export function grpoRows(rows: MetricRow[]): MetricRow[] {
  const m = new Map<number, MetricRow>();
  for (const r of rows) if (r.mode === 'grpo' && Number.isFinite(r.rewardMean)) m.set(r.step, r);
  return [...m.values()].sort((a, b) => a.step - b.step);
}

export function readMetrics(runDir: string): MetricRow[] {
  const f = path.join(runDir, 'metrics.jsonl');
  if (!existsSync(f)) throw new Error(`${runDir}: metrics.jsonl not found; is this a moe-runtime run directory?`);
  return readFileSync(f, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as MetricRow);
}

/** Keeps the last step row per step (a resumed run logs the replayed steps again); other rows are left out. */
export function lastPerStep(rows: MetricRow[]): MetricRow[] {
  const m = new Map<number, MetricRow>();
  for (const r of rows) if (Number.isFinite(r.mainLoss)) m.set(r.step, r);
  return [...m.values()].sort((a, b) => a.step - b.step);
}

/** Relative difference (a−b)/b of main loss at the steps both runs logged. */
export function relativeDiff(a: MetricRow[], b: MetricRow[]): [number, number][] {
  const bm = new Map(b.map((r) => [r.step, r.mainLoss]));
  return a.filter((r) => bm.has(r.step)).map((r) => [r.step, (r.mainLoss - bm.get(r.step)!) / bm.get(r.step)!]);
}

export interface ReportRun {
  label: string;
  rows: MetricRow[];
  /** SFT's held-out loss by step (the last one logged at each step). */
  heldOut?: [number, number][];
  /** GRPO's step rows. */
  grpo?: MetricRow[];
  /** GRPO's held-out reward by step. */
  grpoHeldOut?: [number, number][];
}

/** The held-out rows ({step, heldOutLoss}) as points, the last per step. */
export function heldOutPoints(rows: MetricRow[]): [number, number][] {
  const m = new Map<number, number>();
  for (const r of rows) if (Number.isFinite(r.heldOutLoss)) m.set(r.step, r.heldOutLoss!);
  return [...m].sort((a, b) => a[0] - b[0]);
}

/** The SVG documents of a report (pure). */
export function buildReport(runs: ReportRun[]): Map<string, string> {
  const out = new Map<string, string>();
  // A GRPO run logs no cross-entropy: its loss chart would be empty.
  if (runs.some((r) => r.rows.length) || !runs.some((r) => r.grpo?.length)) {
    out.set('loss.svg', lineChart('Training loss', 'step', 'main cross-entropy (nats/token)', runs.map((r) => ({ label: r.label, points: r.rows.map((x) => [x.step, x.mainLoss] as [number, number]) }))));
  }
  const fp8 = runs.find((r) => r.rows[0]?.precision === 'fp8');
  const bf16 = runs.find((r) => r.rows[0]?.precision === 'bf16');
  if (fp8 && bf16) {
    const diff: Series = { label: `(${fp8.label} − ${bf16.label}) / ${bf16.label}`, points: relativeDiff(fp8.rows, bf16.rows).map(([s, d]) => [s, 100 * d]) };
    out.set('fp8-vs-bf16.svg', lineChart('FP8 vs BF16: relative loss difference (%)', 'step', 'percent', [diff, { label: '±0.25% bar', points: [[diff.points[0]?.[0] ?? 0, 0.25], [diff.points.at(-1)?.[0] ?? 1, 0.25]] }]));
  }
  const held = runs.filter((r) => r.heldOut?.length);
  if (held.length) out.set('held-out.svg', lineChart('SFT: held-out assistant-token loss', 'step', 'cross-entropy (nats/token)', held.map((r) => ({ label: r.label, points: r.heldOut! }))));
  const rl = runs.filter((r) => r.grpo?.length);
  if (rl.length) {
    const line = (k: keyof MetricRow, r: ReportRun, label = r.label): Series => ({ label, points: r.grpo!.map((x) => [x.step, x[k] as number] as [number, number]) });
    out.set('grpo-reward.svg', lineChart('GRPO: mean reward per step (± one standard deviation)', 'step', 'reward', rl.flatMap((r) => [
      line('rewardMean', r),
      { label: `${r.label} + std`, points: r.grpo!.map((x) => [x.step, x.rewardMean! + (x.rewardStd ?? 0)] as [number, number]) },
      { label: `${r.label} − std`, points: r.grpo!.map((x) => [x.step, x.rewardMean! - (x.rewardStd ?? 0)] as [number, number]) },
    ])));
    out.set('grpo-kl.svg', lineChart('GRPO: KL to the reference policy (k3, per response token)', 'step', 'nats', rl.map((r) => line('kl', r))));
    out.set('grpo-signal.svg', lineChart('GRPO: fraction of groups with any signal (non-zero reward variance)', 'step', 'fraction', rl.map((r) => line('signalFraction', r))));
    out.set('grpo-length.svg', lineChart('GRPO: mean response length', 'step', 'tokens', rl.map((r) => line('responseLength', r))));
    out.set('grpo-errors.svg', lineChart('GRPO: reward evaluations that threw or timed out (scored 0)', 'step', 'count', rl.map((r) => line('rewardErrors', r))));
  }
  const rlHeld = runs.filter((r) => r.grpoHeldOut?.length);
  if (rlHeld.length) out.set('grpo-held-out.svg', lineChart('GRPO: held-out reward (one greedy response per prompt)', 'step', 'reward', rlHeld.map((r) => ({ label: r.label, points: r.grpoHeldOut! }))));
  const withLoad = runs[0].rows.filter((r) => r.expertLoad && r.expertLoad.length);
  if (withLoad.length) {
    const recent = withLoad.slice(-Math.min(20, withLoad.length));
    const layers = recent[0].expertLoad!.length;
    const sums = Array.from({ length: layers }, (_, l) => recent[0].expertLoad![l].map((_, e) => recent.reduce((s, r) => s + (r.expertLoad![l]?.[e] ?? 0), 0) / recent.length));
    out.set('experts.svg', heatmap(`Expert load, mean of the last ${recent.length} logged steps (${runs[0].label})`, sums.map((_, l) => `MoE layer ${l}`), sums, 'routed expert'));
  }
  return out;
}

/** Writes RUN_DIR/report/*.svg; returns the paths written. */
export function writeReport(runDir: string, others: string[] = []): string[] {
  const runs = [runDir, ...others].map((d) => {
    const rows = readMetrics(d);
    return { label: path.basename(path.resolve(d)), rows: lastPerStep(rows), heldOut: heldOutPoints(rows), grpo: grpoRows(rows), grpoHeldOut: grpoHeldOutPoints(rows) };
  });
  const outDir = path.join(runDir, 'report');
  mkdirSync(outDir, { recursive: true });
  return [...buildReport(runs)].map(([name, svg]) => {
    const p = path.join(outDir, name);
    writeFileSync(p, svg);
    return p;
  });
}
