// The quality bench's two charts from its JSON (fp8-quality.bench.ts writes them; so can a saved result):
// mean training and held-out loss by step for both precisions, and the paired relative held-out difference by
// evaluation step with its 95% interval and the ±0.25% bar. Drawn with the report's lineChart.
//   node dist/bench/train/fp8-quality-charts.js bench/results/fp8-quality.json
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { lineChart } from '../../operator/report/svg.js';

export interface QualityCurves {
  pairs: number;
  /** heldOutEma: the weights' moving average, when the runs kept one. */
  curves: Record<'fp8' | 'bf16', { train: [number, number][]; heldOut: [number, number][]; heldOutEma?: [number, number][] }>;
  diffByStep: { step: number; mean: number; lo: number; hi: number }[];
}

/** Writes fp8-quality.svg and fp8-quality-diff.svg into dir; returns their paths. */
export function writeQualityCharts(dir: string, q: QualityCurves): string[] {
  const { curves, diffByStep } = q;
  const loss = lineChart(`FP8 vs BF16, tiny preset, mean of ${q.pairs} paired runs`, 'step', 'loss (nats/byte)', [
    { label: 'FP8 training', points: curves.fp8.train },
    { label: 'BF16 training', points: curves.bf16.train },
    { label: 'FP8 held-out', points: curves.fp8.heldOut },
    { label: 'BF16 held-out', points: curves.bf16.heldOut },
    ...(curves.fp8.heldOutEma && curves.bf16.heldOutEma ? [
      { label: 'FP8 held-out, weights\' moving average', points: curves.fp8.heldOutEma },
      { label: 'BF16 held-out, weights\' moving average', points: curves.bf16.heldOutEma }] : []),
  ]);
  const pct = (f: (d: QualityCurves['diffByStep'][number]) => number): [number, number][] => diffByStep.map((d) => [d.step, 100 * f(d)]);
  const of = curves.fp8.heldOutEma ? ' of the weights\' moving average' : '';
  const diff = lineChart(`(FP8 − BF16) / BF16 held-out loss${of}, ${q.pairs} pairs, mean and 95% interval`, 'step', '%', [
    { label: 'mean', points: pct((d) => d.mean) },
    { label: '95% interval, low', points: pct((d) => d.lo) },
    { label: '95% interval, high', points: pct((d) => d.hi) },
    { label: 'bar +0.25%', points: diffByStep.map((d) => [d.step, 0.25]) },
    { label: 'bar −0.25%', points: diffByStep.map((d) => [d.step, -0.25]) },
  ]);
  const out = [path.join(dir, 'fp8-quality.svg'), path.join(dir, 'fp8-quality-diff.svg')];
  writeFileSync(out[0], loss);
  writeFileSync(out[1], diff);
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = process.argv[2] ?? 'bench/results/fp8-quality.json';
  const r = JSON.parse(readFileSync(file, 'utf8')) as { result: { pairs: number } } & QualityCurves;
  console.log(writeQualityCharts(path.dirname(file), { pairs: r.result.pairs, curves: r.curves, diffByStep: r.diffByStep }).join('\n'));
}
