// Pure: probe timing defaults and the kubelet's threshold rule. A verdict (ready / alive / started) changes only after
// successThreshold successes or failureThreshold failures in a row; until then the previous verdict stands.
// Kubelet's initial verdicts: readiness false, liveness true, startup false (not yet started).
import type { V1Probe } from '@kubernetes/client-node';

export type ProbeKind = 'readiness' | 'liveness' | 'startup';

export interface ProbeTiming {
  initialDelayMs: number;
  periodMs: number;
  timeoutMs: number;
  successThreshold: number;
  failureThreshold: number;
}

/** The probe's timing with the API defaults (period 10 s, timeout 1 s, success 1, failure 3); zero/negatives are raised to the minimum. */
export function probeTiming(p: V1Probe): ProbeTiming {
  const atLeast = (v: number | undefined, dflt: number, min: number) => Math.max(v ?? dflt, min);
  return {
    initialDelayMs: atLeast(p.initialDelaySeconds, 0, 0) * 1000,
    periodMs: atLeast(p.periodSeconds, 10, 1) * 1000,
    timeoutMs: atLeast(p.timeoutSeconds, 1, 1) * 1000,
    successThreshold: atLeast(p.successThreshold, 1, 1),
    failureThreshold: atLeast(p.failureThreshold, 3, 1),
  };
}

export interface ThresholdState {
  /** What the probe currently says: ready, alive or started. */
  verdict: boolean;
  /** The last attempt's result and how many attempts in a row gave it (undefined before the first). */
  last?: boolean;
  run: number;
}

export function initialState(kind: ProbeKind): ThresholdState {
  return { verdict: kind === 'liveness', run: 0 };
}

/** The state after one attempt that succeeded (`ok`) or failed. */
export function observe(s: ThresholdState, ok: boolean, t: Pick<ProbeTiming, 'successThreshold' | 'failureThreshold'>): ThresholdState {
  const run = s.last === ok ? s.run + 1 : 1;
  const enough = run >= (ok ? t.successThreshold : t.failureThreshold);
  return { verdict: enough ? ok : s.verdict, last: ok, run };
}
