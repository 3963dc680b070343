// MoE routing on hand-worked cases (ties included), fast vs reference, dispatch/combine and backward.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import {
  bf16ToF32, combine, combineBackward, dispatch, dispatchBackward, dispatchPlan, f32ToBf16, route, routeBackward, type RouterConfig,
} from '../../runtime/src/native/index.js';
import { availablePaths, withPath } from './paths.js';
import { assertClose, randn, rng } from './util.js';

const logit = (s: number) => Math.log(s / (1 - s));
const sig = (x: number) => 1 / (1 + Math.exp(-x));

function routeOne(s: number[], bias: number[], groups: number, topkGroup: number, topk: number, scale = 2.5) {
  const logits = Float32Array.from(s.map(logit));
  const cfg: RouterConfig = { tokens: 1, experts: s.length, groups, topkGroup, topk, scale };
  const r = route(logits, Float32Array.from(bias), cfg);
  return { ...r, logits };
}

/** Expected weights from the unbiased scores of the chosen experts (float64). */
function expectWeights(logits: Float32Array, idx: number[], scale = 2.5): number[] {
  const s = idx.map((e) => sig(logits[e]!));
  const sum = s.reduce((a, b) => a + b, 0);
  return s.map((v) => (v / sum) * scale);
}

describe('MoE routing', () => {
  for (const path of availablePaths()) {
    it(`${path}: group limit keeps the two best groups, so the global top-2 (e0, e5) is not chosen`, () => {
      const s = [0.9, 0.1, 0.6, 0.55, 0.15, 0.8, 0.3, 0.35]; // group sums 1.0, 1.15, 0.95, 0.65
      const r = withPath(path, () => routeOne(s, new Array(8).fill(0), 4, 2, 2));
      assert.deepEqual(Array.from(r.indices), [0, 2]);
      assertClose('weights', r.weights, [1.5, 1.0], () => 1e-6);
      assert.deepEqual(Array.from(r.counts), [1, 0, 1, 0, 0, 0, 0, 0]);
    });

    it(`${path}: bias changes the selection but the weights come from the unbiased scores`, () => {
      const s = [0.9, 0.1, 0.6, 0.55, 0.15, 0.8, 0.3, 0.35];
      const r = withPath(path, () => routeOne(s, [0, 0, 0, 0.5, 0, 0, 0, 0], 4, 2, 2));
      assert.deepEqual(Array.from(r.indices), [3, 0]);
      assertClose('weights', r.weights, [(0.55 / 1.45) * 2.5, (0.9 / 1.45) * 2.5], () => 1e-6);
    });

    it(`${path}: group score is the sum of the top-2 scores, not the maximum`, () => {
      const s = [0.95, 0.1, 0.1, 0.1, 0.6, 0.6, 0.1, 0.1]; // g0: max .95, top-2 1.05; g1: top-2 1.2
      const r = withPath(path, () => routeOne(s, new Array(8).fill(0), 2, 1, 1));
      assert.deepEqual(Array.from(r.indices), [4], 'e4 and e5 tie: the lower index wins');
      assertClose('weights', r.weights, [2.5], () => 1e-6);
    });

    it(`${path}: ties between groups and between experts go to the lower index`, () => {
      const tie = withPath(path, () => routeOne(new Array(8).fill(0.5), new Array(8).fill(0), 4, 2, 3));
      assert.deepEqual(Array.from(tie.indices), [0, 1, 2]);
      assertClose('weights', tie.weights, [2.5 / 3, 2.5 / 3, 2.5 / 3], () => 1e-6);
      // g0 = 0.3+0.7 and g1 = 0.7+0.3 tie exactly; g0 wins, then e1 (0.7) before e0 (0.3).
      const g = withPath(path, () => routeOne([0.3, 0.7, 0.7, 0.3, 0.2, 0.2, 0.9, 0.05], new Array(8).fill(0), 4, 1, 2));
      assert.deepEqual(Array.from(g.indices), [1, 0]);
      assertClose('weights', g.weights, expectWeights(g.logits, [1, 0]), () => 1e-6);
    });
  }

  it('fast and reference paths agree bit for bit on 256 experts, top-8 of 4/8 groups, with many ties', () => {
    const T = 300, E = 256;
    const r = rng(3);
    const logits = Float32Array.from({ length: T * E }, () => Math.round(r() * 6 - 3) / 2); // 7 levels: many ties
    const bias = Float32Array.from({ length: E }, () => Math.round(r() * 4) / 64);
    const cfg: RouterConfig = { tokens: T, experts: E, groups: 8, topkGroup: 4, topk: 8, scale: 2.5 };
    const ref = withPath('reference', () => route(logits, bias, cfg));
    for (const path of availablePaths()) {
      const got = withPath(path, () => route(logits, bias, cfg));
      assert.deepEqual(got.indices, ref.indices, `${path} indices`);
      assert.deepEqual(got.weights, ref.weights, `${path} weights`);
      assert.deepEqual(got.counts, ref.counts, `${path} counts`);
    }
    const counts = new Array(E).fill(0);
    for (const e of ref.indices) counts[e]++;
    assert.deepEqual(Array.from(ref.counts), counts);
    for (let t = 0; t < T; t++) assert.equal(new Set(ref.indices.subarray(t * 8, t * 8 + 8)).size, 8, `token ${t} has distinct experts`);
  });

  it('rejects NaN logits and impossible configurations, naming what is wrong', () => {
    const cfg: RouterConfig = { tokens: 2, experts: 8, groups: 4, topkGroup: 2, topk: 2, scale: 2.5 };
    const logits = new Float32Array(16);
    logits[11] = NaN;
    assert.throws(() => route(logits, new Float32Array(8), cfg), /logits\[1,3\] is not finite/);
    assert.throws(() => route(new Float32Array(16), new Float32Array(8), { ...cfg, groups: 3 }), /groups \(3\) must divide/);
    assert.throws(() => route(new Float32Array(16), new Float32Array(8), { ...cfg, topk: 5 }), /topk must be in \[1, topkGroup\*experts\/groups = 4\]/);
    assert.throws(() => route(new Float32Array(15), new Float32Array(8), cfg), /logits must have length 16/);
  });

  it('dispatch plan orders rows expert by expert, tokens ascending (hand-worked)', () => {
    const p = dispatchPlan(new Int32Array([2, 0, 0, 1, 1, 2]), 3, 2, 3);
    assert.deepEqual(Array.from(p.offsets), [0, 2, 4, 6]);
    assert.deepEqual(Array.from(p.slotOfRow), [1, 2, 3, 4, 0, 5]);
    assert.deepEqual(Array.from(p.rowOfSlot), [4, 0, 1, 2, 3, 5]);
  });

  it('dispatch, combine and their backward passes match direct loops', () => {
    const T = 50, E = 16, K = 4, D = 24;
    const r = rng(11);
    const idx = new Int32Array(T * K);
    for (let t = 0; t < T; t++) {
      const pick = new Set<number>();
      while (pick.size < K) pick.add(Math.floor(r() * E));
      idx.set([...pick], t * K);
    }
    const w = Float32Array.from({ length: T * K }, () => r());
    const x = randn(T * D, r);
    const p = dispatchPlan(idx, T, K, E);
    const xd = dispatch(x, D, p);
    for (let s = 0; s < T * K; s++)
      for (let d = 0; d < D; d++) assert.equal(xd[p.rowOfSlot[s]! * D + d], x[Math.floor(s / K) * D + d]);
    const fp8 = dispatch(Uint8Array.from({ length: T * D }, (_, i) => i & 255), D, p);
    assert.equal(fp8[p.rowOfSlot[5]! * D + 3], (1 * D + 3) & 255, 'byte rows dispatch the same way');

    const eo = randn(T * K * D, r);
    const y = combine(eo, w, D, p);
    const want = new Float64Array(T * D);
    for (let t = 0; t < T; t++)
      for (let j = 0; j < K; j++)
        for (let d = 0; d < D; d++) want[t * D + d] += w[t * K + j]! * eo[p.rowOfSlot[t * K + j]! * D + d]!;
    assertClose('combine', y, want, () => 1e-5);
    const eo16 = f32ToBf16(eo), eoBack = bf16ToF32(eo16);
    const want16 = new Float64Array(T * D);
    for (let t = 0; t < T; t++)
      for (let j = 0; j < K; j++)
        for (let d = 0; d < D; d++) want16[t * D + d] += w[t * K + j]! * eoBack[p.rowOfSlot[t * K + j]! * D + d]!;
    assertClose('combine from bf16', combine(eo16, w, D, p), want16, () => 1e-5);

    const dy = randn(T * D, r);
    const { dExpertOut, dWeights } = combineBackward(dy, eo, w, D, p);
    for (let t = 0; t < T; t++)
      for (let j = 0; j < K; j++) {
        const row = p.rowOfSlot[t * K + j]!;
        let dot = 0;
        for (let d = 0; d < D; d++) {
          dot += dy[t * D + d]! * eo[row * D + d]!;
          assert.ok(Math.abs(dExpertOut[row * D + d]! - w[t * K + j]! * dy[t * D + d]!) < 1e-6);
        }
        assert.ok(Math.abs(dWeights[t * K + j]! - dot) < 1e-4, `dw[${t},${j}]`);
      }

    const dx = dispatchBackward(eo, D, p);
    for (let t = 0; t < T; t++)
      for (let d = 0; d < D; d++) {
        let s = 0;
        for (let j = 0; j < K; j++) s += eo[p.rowOfSlot[t * K + j]! * D + d]!;
        assert.ok(Math.abs(dx[t * D + d]! - s) < 1e-5);
      }
  });

  it('route backward matches central differences of the weights (float64)', () => {
    const T = 6, E = 16;
    const cfg: RouterConfig = { tokens: T, experts: E, groups: 4, topkGroup: 2, topk: 4, scale: 2.5 };
    const r = rng(21);
    const logits = randn(T * E, r, 2);
    const routing = route(logits, new Float32Array(E), cfg);
    const dw = randn(T * 4, r);
    const got = routeBackward(logits, routing, dw, cfg);
    const loss = (x: Float64Array) => {
      let l = 0;
      for (let t = 0; t < T; t++) {
        const sel = Array.from(routing.indices.subarray(t * 4, t * 4 + 4));
        const s = sel.map((e) => sig(x[t * E + e]!));
        const S = s.reduce((a, b) => a + b, 0);
        s.forEach((v, j) => (l += dw[t * 4 + j]! * (v / S) * 2.5));
      }
      return l;
    };
    const x = Float64Array.from(logits), h = 1e-5;
    for (let i = 0; i < T * E; i++) {
      const o = x[i]!;
      x[i] = o + h;
      const lp = loss(x);
      x[i] = o - h;
      const lm = loss(x);
      x[i] = o;
      const fd = (lp - lm) / (2 * h);
      assert.ok(Math.abs(got[i]! - fd) < 1e-5, `dlogits[${i}]: got ${got[i]}, finite difference ${fd}`);
    }
  });
});
