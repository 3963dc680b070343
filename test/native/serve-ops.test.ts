// The serving engine's row kernels (runtime/native/kernels/serve_ops.h) on every kernel path: SiLU·up over fused
// gate|up rows against float64, and the MoE gate's matmulTF64 against the training code's matmulT bit for bit.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { matmulTF64, siluMulRows, transposeF64 } from '../../runtime/src/native/index.js';
import { matmulT } from '../../runtime/src/model/tensor.js';
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
    for (const [T, inF, outF] of [[3, 256, 16], [2, 37, 19], [1, 5, 3]]) {
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

  it('bad shapes throw', () => {
    assert.throws(() => siluMulRows(new Float32Array(6), 2, 3, 2, 0, 2), /must lie in a row of ld = 3/);
    assert.throws(() => matmulTF64(new Float32Array(6), new Float64Array(5), 2, 3, 2), /wt must be a Float64Array of length in\*out = 3\*2/);
  });
});
