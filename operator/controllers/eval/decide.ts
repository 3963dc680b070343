// One reconcile of a MoEEvaluation as pure code: decide(evaluation, observed) → the status and what to write (the
// shared children, the pod of a new run with its plan, pods to delete). The reconciler applies it in order.
import type { V1Pod } from '@kubernetes/client-node';
import { EvalAnnotations, EvalReason as R, evalNames } from '../../api/constants.js';
import type { IInferenceDeployment, IMoEEvaluation, IMoETrainingJob } from '../../api/types.gen.js';
import { readEvalResult, type EvalTarget } from '../../contract/index.js';
import type { KObject } from '../../kube/rest.js';
import { jobFinished, trackCheckpoints } from './checkpoints.js';
import { apiTarget, evalMeta, evalPlan, evalPod, modelTarget, planConfigMap, reportConfigMap, reporterRbac, specHash, type Checkpoint } from './desired.js';
import { EvalStatusBuilder, runOutcome } from './status.js';
import { validateEvaluation } from './validate.js';

export interface EvalObserved {
  now: Date;
  /** spec.target.inferenceDeployment's object, when it exists. */
  deployment?: IInferenceDeployment | undefined;
  /** spec.target.trainingJob's object, when it exists. */
  job?: IMoETrainingJob | undefined;
  /** This evaluation's pods. */
  pods: V1Pod[];
  /** data of <e>-eval-report. */
  report?: Record<string, string> | undefined;
  /** ms left of a write backoff (children.ts); 0 when none. */
  backoffMs: number;
}

export type EvalDecision =
  | { hold: true; status: EvalStatusBuilder; requeueAfterMs?: number }
  | {
    hold: false;
    status: EvalStatusBuilder;
    /** Report ConfigMap and the pod's RBAC, applied in order. */
    shared: KObject[];
    /** A new run: clear the report's result, apply the plan ConfigMap, create the pod. */
    start?: { plan: KObject; pod: V1Pod };
    /** Pods to delete (suspend; finished pods of earlier runs once a new one starts). */
    deletePods: V1Pod[];
    /** The latest result changed: the metrics follow. */
    requeueAfterMs?: number;
  };

const RUNNING = (p: V1Pod) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed';

/** What to evaluate next when nothing runs: the target of the run, its checkpoint, or why not. */
type Next = { target: EvalTarget; label: string; checkpoint?: Checkpoint } | { done: string } | { failed: string; reason: string } | { wait: string; reason: string; pending?: boolean };

export function decide(ev: IMoEEvaluation, o: EvalObserved): EvalDecision {
  const st = new EvalStatusBuilder(ev, o.now);
  const errors = validateEvaluation(ev);
  if (errors.length) {
    st.invalid(errors);
    return { hold: true, status: st };
  }
  st.valid();
  if (o.backoffMs > 0) return { hold: true, status: st, requeueAfterMs: o.backoffMs };
  const hash = specHash(ev);
  const { name } = evalMeta(ev);
  const n = evalNames(name);
  const s = st.status;
  const deletePods: V1Pod[] = [];
  const t = ev.spec.target;

  // A trainingJob target: every Nth new checkpoint seen, then the final export, queue up.
  if (t.trainingJob && o.job) {
    const tracked = trackCheckpoints(s.training, o.job, t.trainingJob.everyNthCheckpoint ?? 1);
    s.training = tracked.training;
    st.queued(tracked.queued);
  }
  if (s.failedSpec && s.failedSpec !== hash) st.retrying();

  // The run in progress (or the pod of the next run, already created before a status write was lost).
  const runs = s.runs ?? 0;
  const adopt = !s.run ? o.pods.find((p) => p.metadata?.name === n.pod(runs)) : undefined;
  if (adopt) {
    const a = adopt.metadata?.annotations ?? {};
    const ck = a[EvalAnnotations.checkpointStep] !== undefined ? { step: Number(a[EvalAnnotations.checkpointStep]), uri: a[EvalAnnotations.checkpointUri] ?? '' } : undefined;
    s.run = { pod: n.pod(runs), startedAt: adopt.metadata?.creationTimestamp ? new Date(adopt.metadata.creationTimestamp).toISOString() : o.now.toISOString(), ...(ck ? { checkpoint: ck } : {}) };
    s.runs = runs + 1;
    if (ck && s.training?.queued?.[0]?.step === ck.step) s.training.queued = s.training.queued.slice(1);
  }
  let requeueAfterMs: number | undefined;
  if (s.run?.pod) {
    const pod = o.pods.find((p) => p.metadata?.name === s.run!.pod);
    const ck = s.run.checkpoint?.step !== undefined ? (s.run.checkpoint as Checkpoint) : undefined;
    const target = ck ? ck.uri : describeTarget(ev, o);
    if (ev.spec.suspend) {
      if (pod && !pod.metadata?.deletionTimestamp) deletePods.push(pod);
      // The interrupted run starts again on resume.
      if (ck && s.training) s.training.queued = [ck, ...(s.training.queued ?? []).filter((c) => c.step !== ck.step)];
      delete s.run;
    } else if (!pod) {
      const age = o.now.getTime() - new Date(s.run.startedAt ?? 0).getTime();
      if (age < 30_000) requeueAfterMs = 1000; // created, not in the cache yet
      else {
        st.event('Warning', R.PodMissing, `pod ${s.run.pod} is gone before it finished; the run starts again`);
        if (ck && s.training) s.training.queued = [ck, ...(s.training.queued ?? []).filter((c) => c.step !== ck.step)];
        delete s.run;
      }
    } else {
      const out = runOutcome(pod, readEvalResult(o.report), ck, o.now);
      if (out.state === 'active') st.active();
      else if (out.state === 'waitingForResult') {
        st.active();
        requeueAfterMs = out.waitMs;
      } else if (out.state === 'succeeded') st.recorded(out.result, ck, target, hash);
      // A training checkpoint that does not load (deleted by the job's checkpoint.keep, say) is skipped; bad tasks
      // would fail every run, so they fail the evaluation.
      else if (t.trainingJob && out.reason !== R.BadTasks) st.runSkipped(out.reason, out.message, ck);
      else st.runFailed(out.reason, out.message, hash);
    }
  }
  st.suspended(!!ev.spec.suspend);

  const shared: KObject[] = [reportConfigMap(ev), ...reporterRbac(ev)];
  if (s.run || ev.spec.suspend || (s.failedSpec === hash)) {
    if (s.failedSpec === hash && s.phase !== 'Failed') s.phase = 'Failed';
    return { hold: false, status: st, shared, deletePods, ...(requeueAfterMs !== undefined ? { requeueAfterMs } : {}) };
  }

  // Nothing runs: start the next run, or say why not.
  const next = nextRun(ev, o, st, hash);
  if ('done' in next) st.succeeded(next.done);
  else if ('failed' in next) st.failed(next.reason, next.failed);
  else if ('wait' in next) {
    if (next.pending) st.targetWaiting(next.reason, next.wait);
    else st.waiting(next.reason, next.wait);
  } else {
    const run = s.runs ?? 0;
    const pod = evalPod(ev, run, next.checkpoint);
    s.runs = run + 1;
    if (next.checkpoint && s.training?.queued?.length) s.training.queued = s.training.queued.slice(1);
    st.started(pod.metadata!.name!, next.checkpoint, o.now, next.label);
    // Finished pods of earlier runs go (their results are in status); the newest stays for `kubectl logs`.
    deletePods.push(...o.pods.filter((p) => !RUNNING(p) && !p.metadata?.deletionTimestamp && p.metadata?.name !== n.pod(run - 1)));
    return { hold: false, status: st, shared, deletePods, start: { plan: planConfigMap(ev, evalPlan(ev, next.target, next.checkpoint)) as KObject, pod } };
  }
  return { hold: false, status: st, shared, deletePods, ...(requeueAfterMs !== undefined ? { requeueAfterMs } : {}) };
}

function describeTarget(ev: IMoEEvaluation, o: EvalObserved): string {
  const t = ev.spec.target;
  if (t.inferenceDeployment) return o.deployment ? (apiTarget(o.deployment) as { baseUrl: string }).baseUrl : `InferenceDeployment ${t.inferenceDeployment}`;
  return t.checkpoint ?? `MoETrainingJob ${t.trainingJob?.name}`;
}

function nextRun(ev: IMoEEvaluation, o: EvalObserved, st: EvalStatusBuilder, hash: string): Next {
  const t = ev.spec.target;
  const s = st.status;
  const current = (s.results ?? []).some((r) => r.specHash === hash);
  if (t.inferenceDeployment) {
    const d = o.deployment;
    const name = t.inferenceDeployment;
    if (current) return { done: `evaluated InferenceDeployment ${name}` };
    if (!d) return { wait: `InferenceDeployment ${name} not found in namespace ${evalMeta(ev).namespace}; create it or fix spec.target.inferenceDeployment`, reason: R.DeploymentNotFound, pending: true };
    const target = apiTarget(d) as { baseUrl: string };
    const phase = d.status?.phase;
    if (phase !== 'Available' && phase !== 'Degraded') return { wait: `waiting for InferenceDeployment ${name} to be Available (phase ${phase ?? 'Pending'})`, reason: R.WaitingForDeployment, pending: true };
    st.targetReady(`InferenceDeployment ${name} serves at ${target.baseUrl}`);
    return { target: apiTarget(d), label: target.baseUrl };
  }
  if (t.checkpoint) {
    if (current) return { done: `evaluated ${t.checkpoint}` };
    st.targetReady(`model folder ${t.checkpoint}`);
    return { target: modelTarget(t.checkpoint), label: t.checkpoint };
  }
  const name = t.trainingJob!.name;
  const job = o.job;
  if (!job) return { wait: `MoETrainingJob ${name} not found in namespace ${evalMeta(ev).namespace}; create it or fix spec.target.trainingJob.name`, reason: R.TrainingJobNotFound, pending: !(s.results ?? []).length };
  st.targetReady(`MoETrainingJob ${name}: every ${t.trainingJob!.everyNthCheckpoint ?? 1}. checkpoint and the final export`);
  const q = (s.training?.queued ?? [])[0];
  if (q?.step !== undefined && q.uri) return { target: modelTarget(q.uri), label: q.uri, checkpoint: { step: q.step, uri: q.uri } };
  const fin = jobFinished(job);
  const count = `${(s.results ?? []).length} checkpoint(s)${s.training?.failed ? ` (${s.training.failed} skipped: their runs failed)` : ''}`;
  if (fin === 'Succeeded') return { done: `MoETrainingJob ${name} succeeded; evaluated ${count} including the final export` };
  if (fin === 'Failed') return { failed: `MoETrainingJob ${name} failed; evaluated ${count} before it did`, reason: R.TrainingJobFailed };
  return { wait: `waiting for MoETrainingJob ${name}'s next checkpoint (seen ${s.training?.seen ?? 0}, last step ${s.training?.lastSeenStep ?? '-'})`, reason: R.WaitingForCheckpoints };
}
