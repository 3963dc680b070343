// The judges of a GRPO job (pure): every InferenceDeployment named in spec.training.grpo.rewards[].judge, resolved
// the way a MoEEvaluation resolves its target (controllers/eval/desired.ts apiTarget: the router Service's OpenAI base
// URL and the served model name), for the plan document's `judges`. A judge that does not exist or does not serve yet
// holds the gang back (JudgeUnavailable) instead of starting pods whose rewards would all fail.
import { ConditionType, Reason } from '../../api/constants.js';
import type { IInferenceDeployment, IMoETrainingJob, IMoETrainingJobStatus } from '../../api/types.gen.js';
import type { GrpoProgress, JudgeEndpoint } from '../../contract/index.js';
import { apiTarget } from '../eval/desired.js';
import type { StatusBuilderBase } from '../status-builder.js';

export type JudgeResolution =
  | { judges: Record<string, JudgeEndpoint> }
  | { waiting: string; reason: 'JudgeNotFound' | 'JudgeNotReady' };

/** The InferenceDeployments the job's judge rewards name (empty unless mode grpo). */
export function judgeNames(job: IMoETrainingJob): string[] {
  if (job.spec.training?.mode !== 'grpo') return [];
  const names = (job.spec.training.grpo?.rewards ?? []).filter((r) => r.type === 'judge').map((r) => r.judge?.inferenceDeployment).filter((n): n is string => !!n);
  return [...new Set(names)];
}

export function resolveJudges(job: IMoETrainingJob, get: (name: string) => IInferenceDeployment | undefined): JudgeResolution {
  const judges: Record<string, JudgeEndpoint> = {};
  const ns = job.metadata?.namespace;
  for (const name of judgeNames(job)) {
    const d = get(name);
    if (!d) return { waiting: `judge InferenceDeployment ${name} (spec.training.grpo.rewards[].judge.inferenceDeployment) not found in namespace ${ns}; create it or fix the name`, reason: 'JudgeNotFound' };
    const t = apiTarget(d) as { baseUrl: string; model: string };
    const phase = d.status?.phase;
    if (phase !== 'Available' && phase !== 'Degraded') {
      return { waiting: `judge InferenceDeployment ${name} at ${t.baseUrl} is not serving yet (phase ${phase ?? 'Pending'}); waiting until it is Available`, reason: 'JudgeNotReady' };
    }
    judges[name] = { baseUrl: t.baseUrl, model: t.model };
  }
  return { judges };
}

/** The JudgeUnavailable condition from rank 0's last GRPO report: calls failed (the URL and error), or answering again. */
export function judgeConditionFromProgress(st: StatusBuilderBase<IMoETrainingJobStatus>, step: number | undefined, g: GrpoProgress | undefined): void {
  if (!g) return;
  if (g.judgeError && (g.judgeFailures ?? 0) > 0) {
    const msg = `judge ${g.judgeError.url}: ${g.judgeError.error} (${g.judgeFailures} of ${g.judgeCalls ?? '?'} judge calls failed at step ${step ?? '?'}; those samples scored 0)`.slice(0, 1000);
    if (st.condition(ConditionType.JudgeUnavailable, true, Reason.JudgeCallsFailed, msg)) st.event('Warning', Reason.JudgeCallsFailed, msg);
    return;
  }
  const c = st.status.conditions?.find((x) => x.type === ConditionType.JudgeUnavailable);
  if (c?.status === 'True' && c.reason === Reason.JudgeCallsFailed) st.condition(ConditionType.JudgeUnavailable, false, Reason.JudgeAnswering, `the judge answered every call of step ${step ?? '?'}`);
}

/** Before planning: the judges resolved (condition False), or why the gang waits (condition True, phase Unschedulable). */
export function judgeConditionFromResolution(st: StatusBuilderBase<IMoETrainingJobStatus>, r: JudgeResolution, names: string[]): void {
  if ('waiting' in r) {
    if (st.condition(ConditionType.JudgeUnavailable, true, r.reason, r.waiting)) st.event('Warning', r.reason, r.waiting);
    return;
  }
  if (names.length) st.condition(ConditionType.JudgeUnavailable, false, Reason.JudgesResolved, Object.entries(r.judges).map(([n, j]) => `${n} at ${j.baseUrl}`).join(', '));
}
