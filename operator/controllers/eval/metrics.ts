// The MoEEvaluation controller's metric families, added to the operator's registry (kube/metrics.ts) with
// `metrics.part(evalMetrics)`: the latest result's score and standard error per evaluation, task and metric.
import { Gauge, type Registry } from 'prom-client';

type Labels = 'namespace' | 'evaluation' | 'task' | 'metric';

export interface EvalMetrics {
  score: Gauge<Labels>;
  stderr: Gauge<Labels>;
}

export function evalMetrics(registry: Registry): EvalMetrics {
  const registers = [registry];
  const labelNames: Labels[] = ['namespace', 'evaluation', 'task', 'metric'];
  return {
    score: new Gauge({ name: 'moe_eval_score', help: 'Score of the latest MoEEvaluation result per task and metric (accuracy, exact_match, pass@k)', labelNames, registers }),
    stderr: new Gauge({ name: 'moe_eval_score_stderr', help: 'Standard error of moe_eval_score (sample standard deviation / sqrt(n))', labelNames, registers }),
  };
}

/** The label sets of one evaluation's latest result (pure). */
export function scoreSeries(namespace: string, evaluation: string, scores: ReadonlyArray<{ name?: string; metric?: string; score?: number; stderr?: number }>) {
  return scores
    .filter((s) => s.name && s.metric && Number.isFinite(s.score))
    .map((s) => ({ labels: { namespace, evaluation, task: s.name!, metric: s.metric! }, score: s.score!, stderr: s.stderr ?? 0 }));
}
