// Pure restart policy of serving replicas (spec.failurePolicy). A gang that breaks is torn down as a unit; it comes
// back at once the first time, then after initial·2^(n−2) seconds (capped at max) for the n-th failure in a row, and
// not at all after maxRestarts failures in a row: the deployment stays Degraded with RestartBudgetExhausted until
// its spec changes. Being ready for STABLE_MS starts a new count (as the kubelet resets a crash-loop backoff).
// Without this a gang failing at start was recreated every 1-3 s, forever.
import type { IInferenceDeployment } from '../../api/types.gen.js';

export const STABLE_MS = 10 * 60_000;

export interface RestartPolicy {
  maxRestarts: number;
  initialMs: number;
  maxMs: number;
}

export function restartPolicy(d: IInferenceDeployment): RestartPolicy {
  const f = (d.spec as { failurePolicy?: { maxRestarts?: number; backoff?: { initialSeconds?: number; maxSeconds?: number } } }).failurePolicy;
  return { maxRestarts: f?.maxRestarts ?? 5, initialMs: (f?.backoff?.initialSeconds ?? 10) * 1000, maxMs: (f?.backoff?.maxSeconds ?? 300) * 1000 };
}

/** What the operator remembers of one replica's failures. */
export interface ReplicaRestarts {
  /** Failures in a row. */
  failures: number;
  /** No new gang before this time (ms since the epoch). */
  notBefore: number;
  /** When the replica was last seen ready after its latest restart. */
  readySince?: number;
}

/** Delay before the restart that follows the n-th failure in a row (n ≥ 1). */
export function restartDelayMs(failures: number, p: RestartPolicy): number {
  if (failures <= 1) return 0;
  return Math.min(p.maxMs, p.initialMs * 2 ** Math.min(failures - 2, 30));
}

/** A replica's gang broke at `now`. */
export function recordFailure(prev: ReplicaRestarts | undefined, p: RestartPolicy, now: number): { next: ReplicaRestarts; delayMs: number; exhausted: boolean } {
  const failures = (prev?.failures ?? 0) + 1;
  const delayMs = restartDelayMs(failures, p);
  return { next: { failures, notBefore: now + delayMs }, delayMs, exhausted: failures > p.maxRestarts };
}

export type Hold = { reason: 'RestartBackoff'; waitMs: number } | { reason: 'RestartBudgetExhausted' };

/** Why the replica must not be started now, or undefined when it may. */
export function holdOf(rec: ReplicaRestarts | undefined, p: RestartPolicy, now: number): Hold | undefined {
  if (!rec) return undefined;
  if (rec.failures > p.maxRestarts) return { reason: 'RestartBudgetExhausted' };
  if (rec.notBefore > now) return { reason: 'RestartBackoff', waitMs: rec.notBefore - now };
  return undefined;
}

/** The record after observing the replica's readiness; undefined once it has been ready long enough to forget. */
export function observeReadiness(rec: ReplicaRestarts, ready: boolean, now: number): ReplicaRestarts | undefined {
  if (!ready) {
    const { readySince: _, ...rest } = rec;
    return rest;
  }
  const since = rec.readySince ?? now;
  return now - since >= STABLE_MS ? undefined : { ...rec, readySince: since };
}

/** Human text for events and conditions. */
export function describeRestart(r: { failures: number; delayMs: number; exhausted: boolean }, p: RestartPolicy): string {
  if (r.exhausted) return `failed ${r.failures} times in a row; restart budget of ${p.maxRestarts} (spec.failurePolicy.maxRestarts) used up, not restarted until the spec changes`;
  return `${r.delayMs > 0 ? `restarting in ${Math.round(r.delayMs / 1000)}s` : 'restarting now'} (failure ${r.failures} in a row, budget ${p.maxRestarts})`;
}
