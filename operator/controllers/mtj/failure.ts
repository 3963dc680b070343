// Pure failure policy. One rank dying breaks the collective, so the default is to tear the whole gang down and
// restart it from the latest good checkpoint after a doubling backoff, while restarts < maxRestarts. Rules narrow
// this by exit code or reason: fail at once, restart and avoid the node, or restart without spending the budget.
import type { V1Pod } from '@kubernetes/client-node';
import type { IMoETrainingJobSpecFailurePolicy, IMoETrainingJobSpecFailurePolicyRulesItem } from '../../api/types.gen.js';

export type FailureAction = 'FailJob' | 'RestartGang' | 'RestartGangExcludeNode' | 'Ignore';

/** One observed failure of a rank's pod. */
export interface PodFailure {
  pod: string;
  node?: string;
  /** Container or pod termination reason: Error, OOMKilled, Evicted, NodeLost, PodMissing, DeadlineExceeded. */
  reason: string;
  exitCode?: number;
  message?: string;
}

export interface FailureDecision {
  action: FailureAction;
  /** Whether this restart spends one of maxRestarts. */
  counts: boolean;
  /** Node to avoid on re-placement. */
  excludeNode?: string;
  /** Why, for the condition message and the event. */
  explanation: string;
}

/** The trainer's (first container's) termination, or the pod's own reason (Evicted, ...). */
export function podFailure(pod: V1Pod): PodFailure | undefined {
  if (pod.status?.phase !== 'Failed') return undefined;
  const name = pod.metadata?.name ?? '?';
  const cs = pod.status.containerStatuses?.find((c) => c.name === pod.spec?.containers[0]?.name) ?? pod.status.containerStatuses?.[0];
  const term = cs?.state?.terminated ?? cs?.lastState?.terminated;
  const f: PodFailure = { pod: name, reason: term?.reason ?? pod.status.reason ?? 'Error' };
  if (pod.spec?.nodeName) f.node = pod.spec.nodeName;
  if (term?.exitCode !== undefined) f.exitCode = term.exitCode;
  const msg = term?.message ?? pod.status.message;
  if (msg) f.message = msg;
  return f;
}

export function ruleMatches(rule: IMoETrainingJobSpecFailurePolicyRulesItem, f: PodFailure): boolean {
  const byCode = rule.onExitCodes !== undefined && f.exitCode !== undefined && rule.onExitCodes.includes(f.exitCode);
  const byReason = rule.onReasons !== undefined && rule.onReasons.includes(f.reason);
  return byCode || byReason;
}

/** Failures that point at the machine rather than the program: avoid the node even without a rule. */
const NODE_REASONS = new Set(['NodeLost', 'NodeShutdown', 'Evicted']);

export function decideFailure(policy: IMoETrainingJobSpecFailurePolicy | undefined, f: PodFailure): FailureDecision {
  const what = `pod ${f.pod}${f.node ? ` on node ${f.node}` : ''} failed (${f.reason}${f.exitCode !== undefined ? `, exit code ${f.exitCode}` : ''})`;
  const rule = (policy?.rules ?? []).find((r) => ruleMatches(r, f));
  const action: FailureAction = rule ? rule.action : 'RestartGang';
  const d: FailureDecision = { action, counts: action !== 'Ignore', explanation: rule ? `${what}; rule ${action} matched` : what };
  if (f.node && (action === 'RestartGangExcludeNode' || (action === 'RestartGang' && NODE_REASONS.has(f.reason)))) d.excludeNode = f.node;
  return d;
}

/** Delay before restart number `restarts` (1-based): initial·2^(restarts−1), capped at max. */
export function restartBackoffSeconds(policy: IMoETrainingJobSpecFailurePolicy | undefined, restarts: number): number {
  const initial = policy?.backoff?.initialSeconds ?? 10;
  const max = policy?.backoff?.maxSeconds ?? 300;
  if (restarts < 1) return 0;
  return Math.min(max, initial * 2 ** Math.min(restarts - 1, 30));
}

/** Whether another counted restart is allowed after `restarts` counted ones. */
export function budgetLeft(policy: IMoETrainingJobSpecFailurePolicy | undefined, restarts: number): boolean {
  return restarts < (policy?.maxRestarts ?? 3);
}
