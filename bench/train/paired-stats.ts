// Statistics of paired differences for the FP8-vs-BF16 quality bench: Student's t quantile, the t-based interval of
// a mean, and how many pairs make that interval narrower than a bar. Pure functions, no dependencies.

/** ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms; ~1e-15 relative). */
function lnGamma(x: number): number {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  x -= 1;
  let a = c[0];
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the incomplete beta function (modified Lentz). */
function betaFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  let c = 1, d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    for (const num of [(m * (b - m) * x) / ((a + m2 - 1) * (a + m2)), (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1))]) {
      d = 1 + num * d;
      if (Math.abs(d) < tiny) d = tiny;
      c = 1 + num / c;
      if (Math.abs(c) < tiny) c = tiny;
      d = 1 / d;
      h *= d * c;
    }
    if (Math.abs(d * c - 1) < 1e-15) break;
  }
  return h;
}

/** The regularised incomplete beta function I_x(a, b). */
function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(lnGamma(a + b) - lnGamma(a) - lnGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  return x < (a + 1) / (a + b + 2) ? (front * betaFraction(x, a, b)) / a : 1 - (front * betaFraction(1 - x, b, a)) / b;
}

/** P(T ≤ t) for Student's t with df degrees of freedom. */
export function tCdf(t: number, df: number): number {
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/** The p-quantile of Student's t with df degrees of freedom (bisection on tCdf; |error| < 1e-10). */
export function tQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new Error(`tQuantile: p must be in (0, 1), got ${p}`);
  if (!(df > 0)) throw new Error(`tQuantile: degrees of freedom must be > 0, got ${df}`);
  if (p < 0.5) return -tQuantile(1 - p, df);
  let lo = 0, hi = 1;
  while (tCdf(hi, df) < p) hi *= 2;
  while (hi - lo > 1e-12 * Math.max(1, hi)) {
    const mid = (lo + hi) / 2;
    if (tCdf(mid, df) < p) lo = mid; else hi = mid;
  }
  return (lo + hi) / 2;
}

export const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Sample standard deviation (n − 1). */
export function sampleSd(xs: number[]): number {
  if (xs.length < 2) throw new Error(`sampleSd needs at least 2 values, got ${xs.length}`);
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

export interface MeanInterval {
  n: number;
  mean: number;
  sd: number;
  /** t_{(1+level)/2, n−1} · sd / √n */
  halfWidth: number;
  lo: number;
  hi: number;
  level: number;
}

/** The t-based interval of the mean of xs (paired differences: one value per pair). */
export function meanInterval(xs: number[], level = 0.95): MeanInterval {
  const n = xs.length, m = mean(xs), sd = sampleSd(xs);
  const halfWidth = (tQuantile((1 + level) / 2, n - 1) * sd) / Math.sqrt(n);
  return { n, mean: m, sd, halfWidth, lo: m - halfWidth, hi: m + halfWidth, level };
}

/**
 * The fewest pairs n (≥ 2) whose interval t_{(1+level)/2, n−1} · sd / √n is at most halfWidth, for a per-pair
 * standard deviation sd (a pilot's estimate); maxPairs bounds the search.
 */
export function pairsNeeded(sd: number, halfWidth: number, level = 0.95, maxPairs = 100_000): number {
  if (!(sd >= 0) || !(halfWidth > 0)) throw new Error(`pairsNeeded: sd must be >= 0 and halfWidth > 0, got ${sd}, ${halfWidth}`);
  const q = (1 + level) / 2;
  for (let n = 2; n <= maxPairs; n++) if ((tQuantile(q, n - 1) * sd) / Math.sqrt(n) <= halfWidth) return n;
  throw new Error(`pairsNeeded: more than ${maxPairs} pairs for sd ${sd} and half-width ${halfWidth}`);
}
