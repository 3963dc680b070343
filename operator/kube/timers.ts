// Node's timers hold a signed 32-bit millisecond count: a longer delay (a 30-day restart backoff is 2.6e9 ms) fires
// after 1 ms instead, with a TimeoutOverflowWarning, which turned one job's backoff into 608 reconciles a second.
// Every delay the operator schedules goes through clampTimerMs; a caller waiting longer simply looks again when the
// clamped timer fires (requeues recompute what is left from the stored deadline).

/** The longest delay setTimeout honours: 2^31 − 1 ms, about 24.8 days. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Pure: `ms` made safe for setTimeout — negative → 0, above the 32-bit limit (or Infinity, NaN) → MAX_TIMER_MS. */
export function clampTimerMs(ms: number): number {
  if (Number.isNaN(ms)) return MAX_TIMER_MS;
  return Math.min(Math.max(0, ms), MAX_TIMER_MS);
}
