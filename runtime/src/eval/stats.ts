// The statistics every score reports (pure): the mean with its standard error (sample standard deviation / sqrt(n),
// as lm-evaluation-harness's mean_stderr), and the unbiased pass@k estimator of Chen et al. 2021 (HumanEval).

export interface Estimate { score: number; stderr: number; n: number }

/** Mean and standard error of the mean; stderr is 0 for a single value. */
export function meanStderr(values: readonly number[]): Estimate {
  const n = values.length;
  if (n === 0) throw new Error('meanStderr: no values');
  let sum = 0;
  for (const v of values) sum += v;
  const mean = sum / n;
  if (n === 1) return { score: mean, stderr: 0, n };
  let ss = 0;
  for (const v of values) ss += (v - mean) ** 2;
  return { score: mean, stderr: Math.sqrt(ss / (n - 1)) / Math.sqrt(n), n };
}

/**
 * pass@k = 1 − C(n−c, k) / C(n, k): the chance that at least one of k samples drawn without replacement from the n
 * generated passes, when c of them do. Computed as the product 1 − Π_{i=n−c+1..n} (1 − k/i) (numerically stable).
 */
export function passAtK(n: number, c: number, k: number): number {
  if (!(Number.isInteger(n) && Number.isInteger(c) && Number.isInteger(k)) || n < 1 || c < 0 || c > n || k < 1 || k > n) {
    throw new Error(`passAtK: need integers 0 <= c <= n and 1 <= k <= n, got n=${n} c=${c} k=${k}`);
  }
  if (n - c < k) return 1;
  let prod = 1;
  for (let i = n - c + 1; i <= n; i++) prod *= 1 - k / i;
  return 1 - prod;
}
