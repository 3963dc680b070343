// The kernels' thread pool under many back-to-back calls: a worker that lagged behind one call once took a chunk of
// the next, ran it twice and left the caller waiting forever (a training run hung at step 75). Thousands of short
// parallel calls give that race many chances; each result must equal the first, and the test must finish.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fp8Gemm, quantizeActivations, quantizeWeights } from '../../runtime/src/native/index.js';
import { randn, rng } from './util.js';

test('20000 short parallel GEMMs in a row all finish with identical results', { timeout: 120_000 }, () => {
  const r = rng(11);
  const M = 64, N = 256, K = 256;
  const a = quantizeActivations(randn(M * K, r), M, K), b = quantizeWeights(randn(N * K, r), N, K);
  const first = fp8Gemm(a, b);
  for (let i = 0; i < 20_000; i++) {
    const c = fp8Gemm(a, b);
    if (i % 2000 === 0 || c.some((v, j) => v !== first[j])) assert.deepEqual(c, first, `call ${i} differs`);
  }
});
