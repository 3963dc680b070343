// One evaluation run (I/O through the model and the task files): every task file is read and checked first (a bad
// task fails the run before the model is touched), then the model is opened and each task scored in order; each
// finished task's scores go to `onScores` at once, so a run that fails later still reports what it finished.
// Also the scores table printed for people.
import type { EvalPlan, EvalTask, TaskScore } from '../../../operator/contract/index.js';
import type { EvalModel } from './model.js';
import { readTaskFile, type Samples } from './tasks.js';
import { scoreMultipleChoice } from './multiple-choice.js';
import { scoreGenerate } from './generate-task.js';
import { scoreCode } from './code-task.js';
import type { Estimate } from './stats.js';

export interface EvalLog {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
}

export interface EvaluateOptions {
  log: EvalLog;
  /** Requests in flight at once (the engine batches them); default 8. */
  concurrency?: number;
  onScores?: (scores: TaskScore[]) => void;
  /** Per task, the per-sample details (log-likelihoods, completions, sandbox outcomes), for --details. */
  onDetails?: (task: string, details: unknown) => void;
}

const score = (t: EvalTask, metric: string, e: Estimate, extra: Partial<TaskScore> = {}): TaskScore =>
  ({ name: t.name, type: t.type, metric, score: e.score, stderr: e.stderr, n: e.n, ...extra });

/** Scores one task's samples. */
export async function scoreTask(model: EvalModel, t: EvalTask, s: Samples, o: EvaluateOptions): Promise<TaskScore[]> {
  const concurrency = o.concurrency ?? 8;
  if (s.type === 'multiple_choice') {
    const r = await scoreMultipleChoice(model, t.file, s.samples, concurrency);
    o.onDetails?.(t.name, r.samples);
    return [score(t, 'accuracy', r.accuracy), score(t, 'acc_norm', r.accNorm)];
  }
  if (s.type === 'generate') {
    const r = await scoreGenerate(model, t.file, s.samples, { maxTokens: t.maxTokens, answerPattern: t.answerPattern, concurrency });
    o.onDetails?.(t.name, r.samples);
    return [score(t, 'exact_match', r.exactMatch)];
  }
  const r = await scoreCode(model, t.file, s.samples, { samples: t.samples, k: t.k, maxTokens: t.maxTokens, timeoutSeconds: t.timeoutSeconds, memoryMiB: t.memoryMiB, concurrency });
  o.onDetails?.(t.name, r.samples);
  if (/network=none/.test(r.isolation)) o.log.warn(`task ${t.name}: candidate programs ran WITHOUT network isolation (${r.isolation}); see runtime/src/sandbox/README.md`);
  else o.log.info(`task ${t.name}: sandbox ${r.isolation}`);
  return [...r.passAt].map(([k, e]) => score(t, `pass@${k}`, e, { isolation: r.isolation }));
}

/** Reads every task, opens the model, scores the tasks in order; throws the first failure (EvalError: reason, exit code). */
export async function evaluate(plan: EvalPlan, openModel: () => Promise<EvalModel>, o: EvaluateOptions): Promise<TaskScore[]> {
  const tasks = plan.tasks.map((t) => ({ t, s: readTaskFile(t) }));
  for (const { t, s } of tasks) o.log.info(`task ${t.name}: ${s.samples.length} ${t.type} samples from ${t.file}`);
  const model = await openModel();
  const scores: TaskScore[] = [];
  try {
    for (const { t, s } of tasks) {
      const t0 = performance.now();
      const got = await scoreTask(model, t, s, o);
      scores.push(...got);
      o.log.info(`task ${t.name} done`, { seconds: Math.round((performance.now() - t0) / 100) / 10, ...Object.fromEntries(got.map((g) => [g.metric, g.score])) });
      o.onScores?.([...scores]);
    }
  } finally {
    await model.close();
  }
  return scores;
}

/** The scores as a fixed-width table. */
export function scoresTable(scores: readonly TaskScore[]): string {
  const rows = [['task', 'type', 'metric', 'score', 'stderr', 'n'], ...scores.map((s) => [s.name, s.type, s.metric, s.score.toFixed(4), s.stderr.toFixed(4), String(s.n)])];
  const w = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((x, c) => (c >= 3 ? x.padStart(w[c]) : x.padEnd(w[c]))).join('  ').trimEnd()).join('\n') + '\n';
}
