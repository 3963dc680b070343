// The serving engine's row kernels (runtime/native/kernels/serve_ops.h) on every kernel path: SiLU·up over fused
// gate|up rows against float64, the MoE gate's matmulTF64 against the training code's matmulT bit for bit, and the
// token-wise rows (RMSNorm with and without the residual add, the MoE gather and combine) against the training code's
// loops bit for bit.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { addRows, gatherPairRows, matmulTF64, moeCombineRows, rmsnormRows, siluMulRows, transposeF64 } from '../../runtime/src/native/index.js';
import { rmsnorm } from '../../runtime/src/model/norm.js';
import { alloc32, matmulT } from '../../runtime/src/model/tensor.js';
import { nonGemmPaths, withPath } from './paths.js';
import { firstBitMismatch, randn, rng } from './util.js';

describe('serving row kernels', () => {
  it('siluMulRows: every path within 4 fp32 ulps of float64 silu(g)·u, over rows with an offset and a tail', () => {
    const r = rng(5);
    const T = 5, ld = 2 * 37 + 3, g0 = 1, u0 = 40, n = 37;
    const y = randn(T * ld, r, 6);
    y[g0] = -120; // exp overflow side: silu → -0
    y[g0 + 1] = 95; // silu → g
    for (const path of nonGemmPaths()) {
      const out = withPath(path, () => siluMulRows(y, T, ld, g0, u0, n));
      for (let t = 0; t < T; t++) {
        for (let i = 0; i < n; i++) {
          const g = y[t * ld + g0 + i], u = y[t * ld + u0 + i];
          const want = (g / (1 + Math.exp(-g))) * u;
          const got = out[t * n + i];
          assert.ok(Math.abs(got - want) <= 4 * 2 ** -23 * Math.abs(want) + 1e-30, `${path} [${t}, ${i}] g=${g} u=${u}: ${got} vs ${want}`);
        }
      }
    }
  });

  it('matmulTF64: every path gives matmulT\'s float32 bits (float64 sums in input order)', () => {
    const r = rng(6);
    for (const [T, inF, outF] of [[3, 256, 16], [9, 256, 16], [6, 64, 40], [2, 37, 19], [1, 5, 3]]) {
      const x = randn(T * inF, r, 2), w = randn(outF * inF, r, 0.1);
      const want = new Float32Array(T * outF);
      matmulT(x, w, T, inF, outF, want);
      const wt = transposeF64(w, outF, inF);
      for (const path of nonGemmPaths()) {
        const got = withPath(path, () => matmulTF64(x, wt, T, inF, outF));
        assert.equal(firstBitMismatch(got, want), -1, `${path} ${T}x${inF}x${outF}`);
      }
    }
  });

  it('rmsnormRows: the training rmsnorm\'s bits, alone and after the residual add (float32 sum written out)', () => {
    const r = rng(7);
    for (const [T, d] of [[9, 256], [3, 37], [1, 64]]) {
      const x = randn(T * d, r, 3), a = randn(T * d, r, 1), w = randn(d, r, 1);
      const want = rmsnorm(x, w, new Float32Array(d), T, d, 1e-6, alloc32).y as Float32Array;
      assert.equal(firstBitMismatch(rmsnormRows(x, w, T, d, 1e-6).y, want), -1, `${T}x${d}`);
      const sum = new Float32Array(T * d);
      for (let i = 0; i < sum.length; i++) sum[i] = x[i] + a[i];
      const got = rmsnormRows(x, w, T, d, 1e-6, a);
      assert.equal(firstBitMismatch(got.sum!, sum), -1, `sum ${T}x${d}`);
      assert.equal(firstBitMismatch(got.y, rmsnorm(sum, w, new Float32Array(d), T, d, 1e-6, alloc32).y as Float32Array), -1, `add+norm ${T}x${d}`);
      assert.equal(firstBitMismatch(addRows(x, a), sum), -1, `addRows ${T}x${d}`);
    }
  });

  it('gatherPairRows and moeCombineRows: the MoE layer\'s row gather and its combine in the training rounding order', () => {
    const r = rng(8);
    const T = 5, K = 3, d = 19;
    const x = randn(T * d, r, 1);
    // Routed rows grouped by expert: an arbitrary order of the T*K pairs.
    const pairOf = Int32Array.from([7, 0, 14, 3, 9, 1, 12, 5, 2, 10, 8, 13, 4, 11, 6]);
    const xs = gatherPairRows(x, pairOf, T, K, d);
    for (let i = 0; i < pairOf.length; i++) {
      const t = Math.floor(pairOf[i] / K);
      assert.deepEqual(Array.from(xs.subarray(i * d, (i + 1) * d)), Array.from(x.subarray(t * d, (t + 1) * d)), `row ${i}`);
    }
    const ys = randn(pairOf.length * d, r, 1), shared = randn(T * d, r, 1);
    const weight = Float64Array.from({ length: T * K }, () => r());
    const want = new Float32Array(T * d);
    for (let i = 0; i < pairOf.length; i++) {
      const t = Math.floor(pairOf[i] / K);
      for (let j = 0; j < d; j++) want[t * d + j] += weight[pairOf[i]] * ys[i * d + j];
    }
    const noShared = Float32Array.from(want);
    for (let i = 0; i < want.length; i++) want[i] += shared[i];
    assert.equal(firstBitMismatch(moeCombineRows(ys, pairOf, weight, T, K, d), noShared), -1, 'without shared');
    assert.equal(firstBitMismatch(moeCombineRows(ys, pairOf, weight, T, K, d, shared), want), -1, 'with shared');
  });

  it('bad shapes throw', () => {
    assert.throws(() => rmsnormRows(new Float32Array(6), new Float32Array(2), 2, 3, 1e-6), /rmsnormRows: w must have length 3 \(d = 3\), got 2/);
    assert.throws(() => gatherPairRows(new Float32Array(6), Int32Array.of(0, 7), 2, 3, 3), /pairOf\[1\] = 7 is outside \[0, T\*K\)/);
    assert.throws(() => moeCombineRows(new Float32Array(6), Int32Array.of(0, 1), new Float64Array(5), 2, 3, 3), /weight must be a Float64Array of T\*K = 2\*3/);
    assert.throws(() => siluMulRows(new Float32Array(6), 2, 3, 2, 0, 2), /must lie in a row of ld = 3/);
    assert.throws(() => matmulTF64(new Float32Array(6), new Float64Array(5), 2, 3, 2), /wt must be a Float64Array of length in\*out = 3\*2/);
  });
});
