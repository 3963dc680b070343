// float32 helpers vs float64 formulas written here.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { rmsnorm, rope, softmax, swiglu } from '../../runtime/src/native/index.js';
import { assertClose, randn, rng } from './util.js';

const REL = 2e-6; // named tolerance: a few float32 roundings of the result

describe('float32 ops', () => {
  it('rmsnorm divides by the root mean square and scales by the weight', () => {
    const T = 7, D = 33, r = rng(1);
    const x = randn(T * D, r, 3), w = randn(D, r);
    const y = rmsnorm(x, w, T, D, 1e-6);
    const want = new Float64Array(T * D);
    for (let t = 0; t < T; t++) {
      let ss = 0;
      for (let d = 0; d < D; d++) ss += x[t * D + d]! ** 2;
      const inv = 1 / Math.sqrt(ss / D + 1e-6);
      for (let d = 0; d < D; d++) want[t * D + d] = x[t * D + d]! * inv * w[d]!;
    }
    assertClose('rmsnorm', y, want, (i) => REL * Math.abs(want[i]!) + 1e-7);
  });

  it('swiglu is silu(gate) * up', () => {
    const r = rng(2), n = 1000;
    const g = randn(n, r, 8), u = randn(n, r);
    const y = swiglu(g, u);
    const want = Array.from(g, (v, i) => (v / (1 + Math.exp(-v))) * u[i]!);
    assertClose('swiglu', y, want, (i) => 1e-6 * Math.abs(want[i]!) + 1e-7);
  });

  it('softmax rows sum to one and survive large logits', () => {
    const T = 4, D = 50, r = rng(3);
    const x = randn(T * D, r, 10);
    x[3] = 1e30; // would overflow without max subtraction
    const y = softmax(x, T, D);
    for (let t = 0; t < T; t++) {
      let mx = -Infinity;
      for (let d = 0; d < D; d++) mx = Math.max(mx, x[t * D + d]!);
      let s = 0;
      for (let d = 0; d < D; d++) s += Math.exp(x[t * D + d]! - mx);
      for (let d = 0; d < D; d++) {
        const want = Math.exp(x[t * D + d]! - mx) / s;
        assert.ok(Math.abs(y[t * D + d]! - want) <= REL * want + 1e-30, `[${t},${d}] ${y[t * D + d]} vs ${want}`);
      }
    }
    assert.equal(y[3], 1);
  });

  it('rope rotates interleaved pairs by pos * theta^(-2i/d)', () => {
    const T = 3, H = 2, Dr = 8, r = rng(4);
    const x = randn(T * H * Dr, r);
    const pos = new Int32Array([0, 5, 4000]);
    const y = rope(x, pos, T, H, Dr, 10000);
    for (let t = 0; t < T; t++)
      for (let h = 0; h < H; h++)
        for (let i = 0; i < Dr / 2; i++) {
          const a = pos[t]! * 10000 ** ((-2 * i) / Dr);
          const o = (t * H + h) * Dr + 2 * i;
          const [p, q] = [x[o]!, x[o + 1]!];
          assert.ok(Math.abs(y[o]! - (p * Math.cos(a) - q * Math.sin(a))) < 1e-5, `[${t},${h},${i}] even`);
          assert.ok(Math.abs(y[o + 1]! - (p * Math.sin(a) + q * Math.cos(a))) < 1e-5, `[${t},${h},${i}] odd`);
        }
    assert.deepEqual(y.subarray(0, H * Dr), x.subarray(0, H * Dr), 'position 0 is the identity');
  });

  it('checks shapes with messages naming the argument', () => {
    assert.throws(() => rmsnorm(new Float32Array(6), new Float32Array(2), 2, 3), /rmsnorm: weight must have length 3/);
    assert.throws(() => rope(new Float32Array(6), new Int32Array(1), 1, 1, 6, 0.5), /theta must be a finite number > 1/);
    assert.throws(() => rope(new Float32Array(5), new Int32Array(1), 1, 1, 5), /ropeDim must be even/);
    assert.throws(() => swiglu(new Float32Array(3), new Float32Array(4)), /swiglu: up must have length 3/);
  });
});
