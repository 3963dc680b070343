// The quality bench's statistics (bench/train/paired-stats.ts) against values worked by hand or read from printed
// t tables: closed forms for 1 and 2 degrees of freedom, tabled quantiles beyond.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { meanInterval, pairsNeeded, sampleSd, tCdf, tQuantile } from '../../../bench/train/paired-stats.js';

const near = (a: number, b: number, tol: number, what: string): void => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

test('Student t CDF matches the closed forms for 1 and 2 degrees of freedom', () => {
  near(tCdf(0, 7), 0.5, 1e-12, 'symmetry');
  near(tCdf(1, 1), 0.75, 1e-10, 'Cauchy: 1/2 + atan(1)/π');
  near(tCdf(1, 2), 0.5 + 1 / (2 * Math.sqrt(3)), 1e-10, 'df 2: 1/2 + t / (2√(2 + t²))');
  near(tCdf(-1, 2), 0.5 - 1 / (2 * Math.sqrt(3)), 1e-10, 'df 2, negative t');
});

test('Student t 0.975 quantiles: closed forms and the printed table', () => {
  near(tQuantile(0.975, 1), 12.7062047, 1e-6, 'df 1: tan(0.475π)');
  near(tQuantile(0.975, 2), 0.95 / Math.sqrt(2 * 0.975 * 0.025), 1e-8, 'df 2: (2p − 1) / √(2p(1 − p))');
  near(tQuantile(0.975, 4), 2.776, 1e-3, 'df 4');
  near(tQuantile(0.975, 10), 2.228, 1e-3, 'df 10');
  near(tQuantile(0.975, 30), 2.042, 1e-3, 'df 30');
  near(tQuantile(0.025, 4), -2.776, 1e-3, 'lower tail');
  assert.throws(() => tQuantile(1.5, 3), /p must be in \(0, 1\)/);
  assert.throws(() => tQuantile(0.9, 0), /degrees of freedom must be > 0/);
});

test('the mean interval of paired differences', () => {
  // 1..5: mean 3, sd √2.5, half-width t_{0.975,4} · √2.5 / √5 = 2.776445 · 0.707107 = 1.963243.
  const a = meanInterval([1, 2, 3, 4, 5]);
  assert.equal(a.n, 5);
  near(a.mean, 3, 1e-12, 'mean');
  near(a.sd, Math.sqrt(2.5), 1e-12, 'sd');
  near(a.halfWidth, 1.963243, 1e-5, 'half-width');
  near(a.lo, 3 - 1.963243, 1e-5, 'lo');
  near(a.hi, 3 + 1.963243, 1e-5, 'hi');
  // Two pairs, 1% and 3%: sd 0.01·√2, half-width 12.7062 · 0.01·√2 / √2 = 0.127062.
  near(meanInterval([0.01, 0.03]).halfWidth, 0.127062, 1e-5, 'two pairs');
  assert.throws(() => sampleSd([1]), /at least 2 values/);
});

test('pairs needed for a half-width: the fewest n with t_{0.975,n−1} · sd / √n ≤ h', () => {
  // sd 0.5%, h 0.25%: need t/√n ≤ 0.5. n = 17: 2.1199 / 4.1231 = 0.5142 (no); n = 18: 2.1098 / 4.2426 = 0.4973 (yes).
  assert.equal(pairsNeeded(0.005, 0.0025), 18);
  // sd 1%, h 0.25%: t/√n ≤ 0.25. n = 63: 1.9990 / 7.9373 = 0.2518 (no); n = 64: 1.9983 / 8 = 0.2498 (yes).
  assert.equal(pairsNeeded(0.01, 0.0025), 64);
  assert.equal(pairsNeeded(0, 0.001), 2);
  assert.throws(() => pairsNeeded(0.01, 0), /halfWidth > 0/);
  assert.throws(() => pairsNeeded(1, 1e-6, 0.95, 50), /more than 50 pairs/);
});
