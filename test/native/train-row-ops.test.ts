// The training step's row kernels on every kernel path (train_ops_isa.h: RMSNorm, SwiGLU, the attention core's
// products) against the TypeScript reference in float64 (norm.ts, ffn.ts's formulas, attention-core.ts), the scalar
// reference against hand-checked values, and the native RoPE, embedding and residual adds against the TypeScript loops
// they replace on the fp8/bf16 path.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import * as nat from '../../runtime/src/native/train-ops.js';
import { rmsnorm } from '../../runtime/src/model/norm.js';
import { rope, ropeTable, windowPositions } from '../../runtime/src/model/rope.js';
import { added, addInto, alloc64 } from '../../runtime/src/model/tensor.js';
import { attnRef } from './attn-ref.js';
import { assertClose, randn, rng } from './util.js';
import { nonGemmPaths, withPath } from './paths.js';

const rel = (tol: number, want: ArrayLike<number>, floor = 1e-7) => (i: number) => tol * Math.abs(want[i]!) + floor;
const f64 = (x: Float32Array): Float64Array => Float64Array.from(x);

describe('training row kernels (every path vs the float64 reference)', () => {
  it('attention core forward and backward on every path: key blocks, output-column blocks and their tails', () => {
    // S 70: four whole blocks of 16 keys and a ragged fifth; qk 37 and dv 20: vector blocks and scalar tails; packed
    // segments restart at rows 0, 23 and 41 (a segment start inside a block).
    const B = 2, S = 70, H = 2, dn = 29, dr = 8, dv = 20, T = B * S, scale = 0.21, r = rng(15);
    const q = randn(T * H * (dn + dr), r), kv = randn(T * H * (dn + dv), r), kpe = randn(T * dr, r), dO = randn(T * H * dv, r);
    const lo = Int32Array.from({ length: T }, (_, t) => (t % S < 23 ? 0 : t % S < 41 ? 23 : 41));
    for (const starts of [undefined, lo]) {
      const want = attnRef(q, kv, kpe, dO, starts, B, S, H, dn, dr, dv, scale);
      for (const path of nonGemmPaths()) {
        const what = `${path}, ${starts ? 'segments' : 'whole'}`;
        const f = withPath(path, () => nat.attnForward(q, kv, kpe, starts, B, S, H, dn, dr, dv, scale));
        const g = withPath(path, () => nat.attnBackward(q, kv, kpe, f.probs, dO, starts, B, S, H, dn, dr, dv, scale));
        assertClose(`o (${what})`, f.o, want.o, rel(1e-5, want.o, 1e-6));
        assertClose(`dq (${what})`, g.dq, want.dq, rel(1e-4, want.dq, 1e-6));
        assertClose(`dkv (${what})`, g.dkv, want.dkv, rel(1e-4, want.dkv, 1e-6));
        assertClose(`dkpe (${what})`, g.dkpe, want.dkpe, rel(1e-4, want.dkpe, 1e-6));
      }
    }
  });

  it('the scalar reference gives hand-checked RMSNorm and SwiGLU values', () => {
    withPath('reference', () => {
      // x = [3, 4]: mean square 12.5, r = 1/sqrt(12.5) = 0.28284271; y = [3r, 4r·2] with w = [1, 2].
      const { y, r } = nat.rmsnormForward(Float32Array.of(3, 4), Float32Array.of(1, 2), 1, 2, 0);
      assertClose('r', r, [0.28284271247], () => 1e-7);
      assertClose('y', y, [0.84852813742, 2.26274169980], () => 1e-6);
      // silu(1) = 1/(1+e^-1) = 0.7310585786; a = silu(1)·2; du = da·silu(1); dg = da·u·s·(1 + g(1-s)) = 2·s·(1 + 1-s).
      assertClose('a', nat.swigluForward(Float32Array.of(1), Float32Array.of(2)), [1.4621171573], () => 1e-6);
      const { dg, du } = nat.swigluBackward(Float32Array.of(1), Float32Array.of(2), Float32Array.of(1));
      assertClose('du', du, [0.7310585786], () => 1e-6);
      assertClose('dg', dg, [2 * 0.7310585786 * (2 - 0.7310585786)], () => 1e-6);
    });
  });

  it('RMSNorm forward, input and weight gradients match norm.ts in float64 on every path (ragged widths)', () => {
    for (const D of [37, 256, 301]) {
      const T = 7, r = rng(D);
      const x = randn(T * D, r, 2), w = randn(D, r), dy = randn(T * D, r);
      const dwRef = new Float64Array(D).fill(0.5);
      const ref = rmsnorm(f64(x), f64(w), dwRef, T, D, 1e-6, alloc64);
      const dxRef = ref.back(f64(dy));
      for (const path of nonGemmPaths()) {
        const dw = new Float32Array(D).fill(0.5);
        const got = withPath(path, () => rmsnorm(x, w, dw, T, D, 1e-6, (n) => new Float32Array(n), true));
        const dx = withPath(path, () => got.back(dy));
        assertClose(`y (${path}, D ${D})`, got.y, ref.y, rel(2e-6, ref.y));
        assertClose(`dx (${path}, D ${D})`, dx, dxRef, rel(2e-5, dxRef, 1e-6));
        assertClose(`dw (${path}, D ${D})`, dw, dwRef, rel(2e-5, dwRef, 1e-6));
      }
    }
  });

  it('SwiGLU forward and backward match the float64 formulas on every path, tails included', () => {
    const n = 1000 + 13, r = rng(8);
    const g = randn(n, r, 4), u = randn(n, r), da = randn(n, r);
    g[0] = -120; g[1] = 95; g[2] = 0; // exp's clamped range and zero
    const sig = (v: number) => 1 / (1 + Math.exp(-v));
    const wantA = Array.from(g, (v, i) => v * sig(v) * u[i]!);
    const wantDu = Array.from(g, (v, i) => da[i]! * v * sig(v));
    const wantDg = Array.from(g, (v, i) => da[i]! * u[i]! * sig(v) * (1 + v * (1 - sig(v))));
    for (const path of nonGemmPaths()) {
      const a = withPath(path, () => nat.swigluForward(g, u));
      const { dg, du } = withPath(path, () => nat.swigluBackward(g, u, da));
      assertClose(`a (${path})`, a, wantA, rel(1e-6, wantA));
      assertClose(`du (${path})`, du, wantDu, rel(1e-6, wantDu));
      assertClose(`dg (${path})`, dg, wantDg, rel(2e-6, wantDg));
    }
  });

  it('native RoPE is rope.ts: queries (several heads) and the shared key, forward and inverse, with YaRN', () => {
    const H = 3, dn = 4, dr = 8, qk = dn + dr, S = 11, T = 2 * S, r = rng(12);
    const yarn = ropeTable(dr, 10000, { type: 'yarn', factor: 40, original_max_position_embeddings: 4, beta_fast: 32, beta_slow: 1, mscale: 1, mscale_all_dim: 0, truncate: true });
    assert.notEqual(yarn.amp, 1, 'the YaRN table scales the rotated values');
    // Windows (positions repeat: one cos/sin table per position) and distinct positions (computed per row).
    const windows = windowPositions(T, S), distinct = Int32Array.from({ length: T }, (_, t) => 100 + 3 * t);
    for (const [pos, table] of [[windows, ropeTable(dr, 10000)], [windows, yarn], [distinct, yarn]] as const) {
      for (const inverse of [false, true]) {
        const q = randn(T * H * qk, r), k = randn(T * dr, r);
        const qRef = q.slice(), kRef = k.slice();
        rope(qRef, pos, H * qk, dn, H, qk, dr, table, inverse);
        rope(kRef, pos, dr, 0, 1, dr, dr, table, inverse);
        rope(q, pos, H * qk, dn, H, qk, dr, table, inverse, true);
        rope(k, pos, dr, 0, 1, dr, dr, table, inverse, true);
        // The same float64 arithmetic; only libm's cos/sin and V8's may differ in a last bit.
        assertClose(`q (inverse ${inverse}, amp ${table.amp})`, q, qRef, rel(1e-7, qRef, 1e-9));
        assertClose(`k (inverse ${inverse}, amp ${table.amp})`, k, kRef, rel(1e-7, kRef, 1e-9));
      }
    }
    // The inverse undoes the forward (amp = 1).
    const pos = windowPositions(T, S), x = randn(T * dr, r), y = x.slice(), t = ropeTable(dr, 10000);
    rope(y, pos, dr, 0, 1, dr, dr, t, false, true);
    assert.ok(y.some((v, i) => Math.abs(v - x[i]!) > 1e-3), 'the rotation moved the values');
    rope(y, pos, dr, 0, 1, dr, dr, t, true, true);
    assertClose('inverse(forward(x))', y, x, () => 1e-5);
  });

  it('embedding rows and their gradient (repeated tokens summed in row order); a token outside the table is named', () => {
    const V = 9, d = 21, r = rng(13);
    const E = randn(V * d, r), ids = Int32Array.of(3, 0, 8, 3, 3, 5), dy = randn(ids.length * d, r);
    const y = nat.embedForward(E, ids, V, d);
    const dE = new Float32Array(V * d).fill(0.25), want = dE.slice();
    nat.embedBackward(dy, ids, V, d, dE);
    ids.forEach((tok, i) => {
      assert.deepEqual(y.subarray(i * d, i * d + d), E.subarray(tok * d, tok * d + d));
      for (let j = 0; j < d; j++) want[tok * d + j] += dy[i * d + j]!;
    });
    assert.deepEqual(dE, want);
    assert.throws(() => nat.embedForward(E, Int32Array.of(1, 9), V, d), /token 9 at row 1 is outside the vocabulary \[0, 9\)/);
    assert.throws(() => nat.embedBackward(dy.subarray(0, 2 * d), Int32Array.of(-1, 2), V, d, dE), /token -1 at row 0 is outside/);
  });

  it('residual adds on the addon are the loops\' sums, bit for bit', () => {
    const n = 1031, r = rng(14);
    const a = randn(n, r), b = randn(n, r, 1e-3);
    const want = Float32Array.from(a, (v, i) => v + b[i]!);
    assert.deepEqual(added(a, b, (k) => new Float32Array(k), true), want);
    const dst = a.slice();
    addInto(dst, b, true);
    assert.deepEqual(dst, want);
  });
});
