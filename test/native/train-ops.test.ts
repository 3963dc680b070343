// The training step's native ops (runtime/src/native/train-ops.ts) against the TypeScript loops they replace on the
// fp8/bf16 path (runtime/src/model, runtime/src/train/adamw.ts), which stay the reference.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import * as nat from '../../runtime/src/native/train-ops.js';
import { dequantizeWeights, fp8Gemm, quantizeActivations, quantizeWeights } from '../../runtime/src/native/index.js';
import { attnRef } from './attn-ref.js';
import { rmsnorm } from '../../runtime/src/model/norm.js';
import { crossEntropy } from '../../runtime/src/model/loss.js';
import { alloc32, matmulN, matmulT, matmulTN, transpose } from '../../runtime/src/model/tensor.js';
import { Params } from '../../runtime/src/model/params.js';
import { AdamW, ADAMW_DEFAULTS } from '../../runtime/src/train/adamw.js';
import { addMoeParams, moe } from '../../runtime/src/model/moe.js';
import { groupedExperts } from '../../runtime/src/model/moe-grouped.js';
import { ffn } from '../../runtime/src/model/ffn.js';
import { precisionCtx } from '../../runtime/src/model/precision.js';
import { Rng } from '../../runtime/src/model/rng.js';
import { microConfig } from '../unit/runtime/gradcheck.js';
import { modelConfig } from '../../runtime/src/model/config.js';
import { assertClose, randn, rng } from './util.js';
import { availablePaths, nonGemmPaths, withPath } from './paths.js';

/** [cols, rows] codes of q [rows, cols]. */
const transposeBytes = (q: Uint8Array, rows: number, cols: number): Uint8Array => {
  const out = new Uint8Array(q.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = q[i * cols + j]!;
  return out;
};

const rel = (tol: number, want: ArrayLike<number>, floor = 1e-6) => (i: number) => tol * Math.abs(want[i]!) + floor;

describe('training ops (native vs the TypeScript reference)', () => {
  it('attention core forward and backward match the float64 core, whole sequences and packed segments', () => {
    const B = 3, S = 9, H = 2, dn = 4, dr = 2, dv = 3, qk = dn + dr, T = B * S, scale = 0.37;
    const r = rng(5);
    const q = randn(T * H * qk, r), kv = randn(T * H * (dn + dv), r), kpe = randn(T * dr, r), dO = randn(T * H * dv, r);
    // Segments: every sequence restarts at rows 0 and 4 (packed samples); and no segments at all.
    const lo = Int32Array.from({ length: T }, (_, t) => (t % S < 4 ? 0 : 4));
    for (const starts of [undefined, lo]) {
      const f = nat.attnForward(q, kv, kpe, starts, B, S, H, dn, dr, dv, scale);
      const g = nat.attnBackward(q, kv, kpe, f.probs, dO, starts, B, S, H, dn, dr, dv, scale);
      const { o: wantO, dq: wantDq, dkv: wantDkv, dkpe: wantDkpe } = attnRef(q, kv, kpe, dO, starts, B, S, H, dn, dr, dv, scale);
      const what = starts ? 'segments' : 'whole';
      assertClose(`o (${what})`, f.o, wantO, rel(1e-5, wantO));
      assertClose(`dq (${what})`, g.dq, wantDq, rel(1e-4, wantDq));
      assertClose(`dkv (${what})`, g.dkv, wantDkv, rel(1e-4, wantDkv));
      assertClose(`dkpe (${what})`, g.dkpe, wantDkpe, rel(1e-4, wantDkpe));
    }
  });

  it('rmsnorm forward, input and weight gradients match norm.ts', () => {
    const T = 5, D = 37, r = rng(7);
    const x = randn(T * D, r, 2), w = randn(D, r), dy = randn(T * D, r);
    const dwRef = new Float32Array(D).fill(0.5), dwNat = new Float32Array(D).fill(0.5);
    const ref = rmsnorm(x, w, dwRef, T, D, 1e-6, alloc32);
    const got = rmsnorm(x, w, dwNat, T, D, 1e-6, alloc32, true);
    assertClose('y', got.y, ref.y, rel(2e-6, ref.y));
    const dxRef = ref.back(dy), dxNat = got.back(dy);
    assertClose('dx', dxNat, dxRef, rel(1e-5, dxRef));
    assertClose('dw', dwNat, dwRef, rel(1e-5, dwRef));
  });

  it('SwiGLU forward and backward match the formulas of ffn.ts', () => {
    const n = 999, r = rng(8);
    const g = randn(n, r, 4), u = randn(n, r), da = randn(n, r);
    const a = nat.swigluForward(g, u);
    const { dg, du } = nat.swigluBackward(g, u, da);
    const sig = (v: number) => 1 / (1 + Math.exp(-v));
    const wantA = Array.from(g, (v, i) => v * sig(v) * u[i]!);
    const wantDu = Array.from(g, (v, i) => da[i]! * v * sig(v));
    const wantDg = Array.from(g, (v, i) => da[i]! * u[i]! * sig(v) * (1 + v * (1 - sig(v))));
    assertClose('a', a, wantA, rel(1e-6, wantA, 1e-7));
    assertClose('du', du, wantDu, rel(1e-6, wantDu, 1e-7));
    assertClose('dg', dg, wantDg, rel(1e-5, wantDg, 1e-7));
  });

  it('cross-entropy matches loss.ts and names a target outside the vocabulary', () => {
    const T = 6, V = 50, r = rng(9);
    const logits = randn(T * V, r, 3);
    const targets = Int32Array.from({ length: T }, (_, i) => (i * 7) % V);
    const ref = crossEntropy(logits, targets, T, V, 0.3, alloc32);
    const got = crossEntropy(logits, targets, T, V, 0.3, alloc32, true);
    assert.ok(Math.abs(got.loss - ref.loss) < 1e-6 * ref.loss, `loss ${got.loss} vs ${ref.loss}`);
    assertClose('dlogits', got.dlogits, ref.dlogits, rel(1e-5, ref.dlogits, 1e-9));
    targets[4] = V;
    assert.throws(() => crossEntropy(logits, targets, T, V, 1, alloc32, true), /target 50 at row 4 is outside the vocabulary \[0, 50\)/);
  });

  it('scaled quantisation gives the codes of quantising c·x; amax; transposed weights decode to the transpose', () => {
    const rows = 300, cols = 130, r = rng(10);
    const x = randn(rows * cols, r, 0.01);
    const xt = transpose(x, rows, cols, new Float32Array(rows * cols)) as Float32Array;
    const c = 64;
    // Scaled activations: the codes of quantising c·x.
    const sc = nat.quantizeActivationsScaled(x, rows, cols, c);
    const wantSc = quantizeActivations(Float32Array.from(x, (v) => v * c), rows, cols);
    assert.deepEqual(sc.q, wantSc.q);
    assert.deepEqual(sc.scales, wantSc.scales);
    assert.equal(nat.amax(x), Math.max(...Array.from(x, Math.abs)));
    assert.ok(Number.isNaN(nat.amax(Float32Array.from(x, (v, i) => (i === 5 ? NaN : v)))));
    // The forward's weight codes read transposed are the transpose's codes (block amax does not change under
    // transposition), and decode to the transpose (the layout is the transpose, not a reshape).
    const fwd = quantizeWeights(x, rows, cols), wantW = quantizeWeights(xt, cols, rows);
    const wt = nat.weightsTransposed(fwd);
    assert.deepEqual([wt.rows, wt.cols, wt.transposed], [cols, rows, true]);
    assert.deepEqual(transposeBytes(wt.q, rows, cols), wantW.q);
    assert.deepEqual(wt.scales, wantW.scaleInv);
    assertClose('dequantised', dequantizeWeights({ q: transposeBytes(wt.q, rows, cols), scaleInv: wt.scales, rows: cols, cols: rows }), xt, (i) => 0.07 * Math.abs(xt[i]!) + 1e-4);
  });

  it('column-tiled quantisation: the codes (in x\'s layout) and scales of quantising (c·x)ᵀ, on every path', () => {
    // rows 300: two full 128-row tiles and a ragged one; cols 37: ragged 16-lane tails.
    const rows = 300, cols = 37, r = rng(21), c = 64;
    const x = randn(rows * cols, r, 0.01);
    for (let i = 0; i < cols; i++) x[5 * cols + i] = 0; // an all-zero row changes no tile
    for (let i = 128 * cols; i < 256 * cols; i += cols) x[i] = 0; // column 0's second tile is all zero (the 1e-4 floor)
    const xt = transpose(x, rows, cols, new Float32Array(rows * cols)) as Float32Array;
    const want = quantizeActivations(Float32Array.from(xt, (v) => v * c), cols, rows);
    const wantQ = transposeBytes(want.q, cols, rows);
    for (const path of nonGemmPaths()) {
      const a = withPath(path, () => nat.quantizeActivationsCols(x, rows, cols, c));
      assert.deepEqual([a.rows, a.cols, a.transposed], [cols, rows, true]);
      assert.deepEqual(a.q, wantQ, path);
      assert.deepEqual(a.scales, want.scales, path);
    }
    assert.throws(() => nat.quantizeActivationsCols(Float32Array.from(x, (v, i) => (i === 17 ? NaN : v)), rows, cols), /non-finite value at flat index 17/);
  });

  it('FP8 GEMM on operands stored transposed equals fp8Gemm on the transposed copies, bit for bit, on every path', () => {
    for (const path of availablePaths()) {
      // M, N, K: ragged row panels (12, 32), a K below one 32-wide chunk, K and N across 128-blocks.
      for (const [M, N, K, seed] of [[13, 33, 129, 1], [40, 200, 300, 2], [5, 7, 9, 3], [130, 64, 512, 4]] as const) {
        const r = rng(100 + seed);
        const aF = randn(M * K, r), bF = randn(N * K, r);
        const qa = quantizeActivations(aF, M, K), qb = quantizeWeights(bF, N, K);
        const want = withPath(path, () => fp8Gemm(qa, qb));
        const aT: nat.Fp8Operand = { q: transposeBytes(qa.q, M, K), scales: qa.scales, rows: M, cols: K, transposed: true };
        // B stored transposed: the codes of quantising bF's transpose [K, N] as weights, read back through weightsTransposed.
        const qbt = quantizeWeights(transpose(bF, N, K, new Float32Array(N * K)) as Float32Array, K, N);
        const bT = nat.weightsTransposed(qbt);
        assert.deepEqual(bT.q, transposeBytes(qb.q, N, K), 'block codes do not change under transposition');
        assert.deepEqual(bT.scales, qb.scaleInv);
        for (const [a, b, what] of [[nat.activationsOperand(qa), bT, 'B'], [aT, { q: qb.q, scales: qb.scaleInv, rows: N, cols: K, transposed: false }, 'A'], [aT, bT, 'A and B']] as const) {
          const got = withPath(path, () => nat.fp8GemmT(a, b));
          assert.deepEqual(got, want, `${path} ${M}x${N}x${K} transposed ${what}`);
          // Accumulating: C0 + alpha·A·Bᵀ, alpha folded into A's scales (a power of two, as the gradient rescale's).
          const c0 = randn(M * N, r), acc = c0.slice();
          const back = withPath(path, () => nat.fp8GemmT(a, b, { out: acc, alpha: 0.25 }));
          assert.equal(back, acc);
          const wantAcc = Float64Array.from(c0, (v, i) => v + 0.25 * want[i]!);
          assertClose(`${path} ${M}x${N}x${K} accumulated (${what})`, acc, wantAcc, (i) => 1e-5 * (Math.abs(c0[i]!) + Math.abs(0.25 * want[i]!)) + 1e-6);
        }
      }
    }
    assert.throws(() => nat.fp8GemmT({ q: new Uint8Array(6), scales: new Float32Array(2), rows: 2, cols: 3, transposed: true }, { q: new Uint8Array(8), scales: new Float32Array(1), rows: 2, cols: 4, transposed: false }), /a.cols \(3\) must equal b.cols \(4\)/);
  });

  it('float32 GEMMs (forward, dgrad, wgrad) match the loops of tensor.ts', () => {
    const T = 13, inF = 37, outF = 19, r = rng(11);
    const x = randn(T * inF, r), W = randn(outF * inF, r), dy = randn(T * outF, r);
    const y = new Float32Array(T * outF);
    matmulT(x, W, T, inF, outF, y);
    assertClose('forward', nat.sgemmForward(x, W, T, inF, outF), y, rel(1e-5, y, 1e-5));
    const dx = randn(T * inF, r), dxRef = dx.slice();
    matmulN(dy, W, T, outF, inF, dxRef);
    nat.sgemmDgrad(dy, W, T, outF, inF, dx);
    assertClose('dgrad', dx, dxRef, rel(1e-5, dxRef, 1e-5));
    const dW = randn(outF * inF, r), dWRef = dW.slice();
    matmulTN(dy, x, T, outF, inF, dWRef);
    nat.sgemmWgrad(dy, x, T, outF, inF, dW);
    assertClose('wgrad', dW, dWRef, rel(1e-5, dWRef, 1e-5));
  });

  it('MoE layer on the native dispatch and combine: output and every gradient as the TypeScript MoE', () => {
    const c = microConfig({ n_routed_experts: 8, n_group: 2, topk_group: 2, num_experts_per_tok: 3 });
    const T = 24, d = c.hidden_size;
    const make = () => {
      const P = new Params(alloc32);
      addMoeParams(P, 'm', c);
      const rr = new Rng(3);
      for (const p of P.list()) for (let i = 0; i < p.data.length; i++) p.data[i] = rr.normal() * 0.5;
      return P;
    };
    const r = rng(13);
    const x = randn(T * d, r), dy = randn(T * d, r);
    // fp32 GEMMs on both sides, so the only difference is the MoE's dispatch/combine path.
    const base = precisionCtx('fp32');
    const Pt = make(), Pn = make();
    const ft = moe(base, Pt, 'm', c, x, T, 8, 0.01), fn = moe({ ...base, native: true }, Pn, 'm', c, x, T, 8, 0.01);
    assert.deepEqual(fn.counts, ft.counts);
    assertClose('y', fn.y, ft.y, rel(1e-5, ft.y));
    const dxt = ft.back(dy), dxn = fn.back(dy);
    assertClose('dx', dxn, dxt, rel(1e-4, dxt, 1e-5));
    for (const p of Pt.list()) assertClose(`d ${p.name}`, Pn.get(p.name).grad, p.grad, rel(1e-4, p.grad, 1e-5));
  });

  it('FP8 experts through the grouped GEMM: output and every gradient as one FFN per expert', () => {
    const c = modelConfig('deepseek-v3-tiny', { vocab_size: 256 });
    const T = 64, d = c.hidden_size;
    const make = () => {
      const P = new Params(alloc32);
      addMoeParams(P, 'm', c);
      const rr = new Rng(4);
      for (const p of P.list()) for (let i = 0; i < p.data.length; i++) p.data[i] = rr.normal() * 0.05;
      return P;
    };
    const r = rng(14);
    const x = randn(T * d, r), dy = randn(T * d, r, 1e-3);
    const ctx = precisionCtx('fp8', true);
    // The same GEMMs under another name: groupedExpertsApply is false, so each expert runs ffn() on its rows.
    const perExpert = { ...ctx, linear: { ...ctx.linear, name: 'fp8-native (per expert)' } };
    const Pg = make(), Pe = make();
    const fg = moe(ctx, Pg, 'm', c, x, T, 64, 0.01), fe = moe(perExpert, Pe, 'm', c, x, T, 64, 0.01);
    assert.deepEqual(fg.counts, fe.counts);
    assertClose('y', fg.y, fe.y, rel(1e-6, fe.y, 1e-7));
    const dxg = fg.back(dy), dxe = fe.back(dy);
    assertClose('dx', dxg, dxe, rel(1e-5, dxe, 1e-9));
    for (const p of Pe.list()) assertClose(`d ${p.name}`, Pg.get(p.name).grad, p.grad, rel(1e-5, p.grad, 1e-9));
  });

  it('grouped experts on a subset (an EP rank\'s experts, in its order): output and gradients as one FFN per expert', () => {
    const c = modelConfig('deepseek-v3-tiny', { vocab_size: 256 });
    const d = c.hidden_size, experts = [3, 0, 7], counts = [40, 0, 25];
    const off = Int32Array.from([0, 40, 40, 65]), R = off[3]!;
    const make = () => {
      const P = new Params(alloc32);
      addMoeParams(P, 'm', c);
      const rr = new Rng(5);
      for (const p of P.list()) for (let i = 0; i < p.data.length; i++) p.data[i] = rr.normal() * 0.05;
      return P;
    };
    const r = rng(15);
    const xs = randn(R * d, r), dy = randn(R * d, r, 1e-3);
    const ctx = precisionCtx('fp8', true);
    const Pg = make(), Pe = make();
    const g = groupedExperts(ctx, Pg, 'm', c, xs, off, experts);
    const dxs = g.back(dy);
    experts.forEach((e, i) => {
      if (counts[i] === 0) return;
      const rows = (a: Float32Array) => a.slice(off[i]! * d, off[i + 1]! * d);
      const f = ffn(ctx, Pe, `m.experts.${e}`, rows(xs), counts[i]!);
      assertClose(`y of expert ${e}`, rows(g.y), f.y as Float32Array, rel(1e-6, f.y, 1e-7));
      const dx = f.back(rows(dy));
      assertClose(`dx of expert ${e}`, rows(dxs), dx as Float32Array, rel(1e-5, dx, 1e-9));
    });
    for (const p of Pe.list()) assertClose(`d ${p.name}`, Pg.get(p.name).grad, p.grad, rel(1e-5, p.grad, 1e-9));
    assert.ok(Pg.get('m.experts.3.up_proj.weight').grad.some((v) => v !== 0) && Pg.get('m.experts.5.up_proj.weight').grad.every((v) => v === 0), 'only the listed experts get gradients');
    assert.throws(() => groupedExperts(ctx, Pg, 'm', c, xs, off, [3, 0]), /offsets has 4 entries for 2 experts, expected 3/);
  });

  it('AdamW with BF16 moments and clipping: the native update is the TypeScript one, bit for bit, on every path', () => {
    for (const path of nonGemmPaths()) {
      withPath(path, () => {
        const make = () => {
          const P = new Params(alloc32);
          const r = rng(12);
          // 70001: several pool chunks and a ragged 16-lane tail; 37: only a tail.
          for (const [name, n, decay] of [['a', 1000, true], ['b', 37, false], ['c', 70001, true]] as const) {
            const p = P.add(name, [n], decay);
            p.data.set(randn(n, r));
          }
          return P;
        };
        const Pt = make(), Pn = make();
        const cfg = { ...ADAMW_DEFAULTS, totalSteps: 10, clip: 0.5 };
        const ts = new AdamW(Pt, cfg), nv = new AdamW(Pn, cfg, true);
        for (let step = 0; step < 3; step++) {
          for (const P of [Pt, Pn]) {
            const rr = rng(100 + step);
            for (const p of P.list()) p.grad.set(randn(p.grad.length, rr, 3));
          }
          const nt = ts.clipGrads(), nn = nv.clipGrads();
          assert.equal(nn, nt);
          ts.update(step, 1e-2);
          nv.update(step, 1e-2);
          for (const p of Pt.list()) {
            assert.deepEqual(Pn.get(p.name).data, p.data, `${p.name} after step ${step} (${path})`);
            assert.deepEqual(nv.m.get(p.name), ts.m.get(p.name));
            assert.deepEqual(nv.v.get(p.name), ts.v.get(p.name));
          }
        }
      });
    }
  });
});
