// Scores over checkpoints of a MoEEvaluation, drawn from its status (pure): one line per task and metric, x = the
// training step of each result (its index when no result has a checkpoint: a served model or a folder evaluated
// again). The input is the object as `kubectl get moeeval NAME -o json` prints it; moectl eval-report writes the SVG.
import type { IMoEEvaluation } from '../api/types.gen.js';
import { lineChart, type Series } from './svg.js';

/** The evaluation in `text` (JSON of one MoEEvaluation), or an error naming what is wrong. */
export function parseEvaluation(text: string, source: string): IMoEEvaluation {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source}: not JSON (${(e as Error).message}); give the output of kubectl get moeeval NAME -o json`);
  }
  const ev = o as IMoEEvaluation;
  if (ev?.kind !== 'MoEEvaluation') throw new Error(`${source}: kind: expected MoEEvaluation, got ${JSON.stringify(ev?.kind)}; give the output of kubectl get moeeval NAME -o json`);
  return ev;
}

export interface ScoreLine {
  task: string;
  metric: string;
  points: Array<{ x: number; score: number; stderr: number; n: number }>;
}

/** Per task and metric, the results' scores in status order. */
export function scoreLines(ev: IMoEEvaluation): { byStep: boolean; lines: ScoreLine[] } {
  const results = ev.status?.results ?? [];
  const byStep = results.length > 0 && results.every((r) => r.checkpoint?.step !== undefined);
  const lines = new Map<string, ScoreLine>();
  results.forEach((r, i) => {
    for (const s of r.scores ?? []) {
      if (!s.name || !s.metric || !Number.isFinite(s.score)) continue;
      const k = `${s.name}\u0000${s.metric}`;
      if (!lines.has(k)) lines.set(k, { task: s.name, metric: s.metric, points: [] });
      lines.get(k)!.points.push({ x: byStep ? r.checkpoint!.step! : i, score: s.score!, stderr: s.stderr ?? 0, n: s.n ?? 0 });
    }
  });
  return { byStep, lines: [...lines.values()] };
}

/** The chart: scores over checkpoints, the legend giving each line's last score ± stderr (n). */
export function evalScoresSvg(ev: IMoEEvaluation): string {
  const { byStep, lines } = scoreLines(ev);
  const series: Series[] = lines.map((l) => {
    const last = l.points.at(-1)!;
    return { label: `${l.task} ${l.metric}: ${fmt(last.score)} ± ${fmt(last.stderr)} (n=${last.n})`, points: l.points.map((p) => [p.x, p.score] as [number, number]) };
  });
  const name = ev.metadata?.name ?? 'evaluation';
  return lineChart(`${name}: scores over ${byStep ? 'checkpoints' : 'runs'}`, byStep ? 'training step' : 'run', 'score', series);
}

const fmt = (x: number) => String(Number(x.toPrecision(3)));
