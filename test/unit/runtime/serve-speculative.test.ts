// Speculative decoding's rules (serve/engine/speculative.ts), without a model: greedy verification emits exactly the
// target's argmax tokens, and the sampling rule's emitted tokens follow the target distribution — checked by a
// chi-square test on a 5-token vocabulary (fixed seed) against the distribution plain sampling draws from, with a
// wrong rule (accept every draft) as the control that the test can fail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../runtime/src/model/rng.js';
import { distribution, sample } from '../../../runtime/src/serve/engine/sampler.js';
import { draftToken, verifyDrafts, type Draft, type SamplingShape } from '../../../runtime/src/serve/engine/speculative.js';

const V = 5;
const rowsOf = (rows: number[][]): Float32Array => Float32Array.from(rows.flat());

test('greedy: every draft that is the target argmax is accepted, then the argmax of the next row', () => {
  const rng = new Rng(1);
  const g: SamplingShape = { temperature: 0, topP: 1 };
  const rows = rowsOf([[0, 3, 1, 0, 0], [2, 0, 0, 0, 1], [0, 0, 0, 4, 0]]);
  assert.deepEqual(verifyDrafts(rows, V, V, [{ id: 1 }, { id: 0 }], g, rng), { accepted: 2, tokens: [1, 0, 3] });
  // A wrong second draft: the first is kept, the target's own token replaces the second, nothing after it.
  assert.deepEqual(verifyDrafts(rows, V, V, [{ id: 1 }, { id: 4 }], g, rng), { accepted: 1, tokens: [1, 0] });
  assert.deepEqual(verifyDrafts(rows, V, V, [{ id: 2 }, { id: 0 }], g, rng), { accepted: 0, tokens: [1] });
  // Ids beyond n (tokens the tokenizer cannot produce) are never chosen.
  assert.deepEqual(verifyDrafts(rowsOf([[0, 1, 2, 3, 9]]), V, 4, [], g, rng), { accepted: 0, tokens: [3] });
  assert.equal(draftToken(Float32Array.of(0, 5, 1, 2, 0), V, g, rng).id, 1);
});

test('no drafts: the verdict is plain sampling with the same single draw of the stream', () => {
  const shape = { temperature: 0.7, topP: 0.9 };
  for (let seed = 0; seed < 50; seed++) {
    const row = Float32Array.from({ length: V }, (_, i) => Math.sin(seed * 7 + i) * 3);
    const a = new Rng(seed);
    const b = new Rng(seed);
    assert.deepEqual(verifyDrafts(row, V, V, [], shape, a).tokens, [sample(row, V, shape.temperature, shape.topP, b)]);
    assert.equal(a.next(), b.next());
  }
});

// Position-dependent target rows p_k and drafter rows q_k (context-free, so the target law of the first two tokens is
// p_0 × p_1). The drafter is deliberately off, and top-p removes tokens from some rows of each.
const P = [[2, 1, 0.5, 0, -1], [0, 2.5, 0.2, 1, 0], [1, 1, 1, 0, 2], [0, 0, 3, 0, 0]];
const Q = [[0.5, 2, 0, 1, -2], [1, 0, 0.5, 2, 0], [0, 1, 2, 1, 0], [1, 0, 0, 0, 1]];
const shape: SamplingShape = { temperature: 0.9, topP: 0.93 };
const row = (m: number[][], k: number): Float32Array => Float32Array.from(m[Math.min(k, m.length - 1)]);

type Rule = (rows: Float32Array, drafts: Draft[], rng: Rng) => number[];
const standard: Rule = (rows, drafts, rng) => verifyDrafts(rows, V, V, drafts, shape, rng).tokens;
/** A wrong rule: keeps every draft and adds the target's next token. */
const acceptAll: Rule = (rows, drafts, rng) => [...drafts.map((d) => d.id), sample(rows.subarray(drafts.length * V), V, shape.temperature, shape.topP, rng)];

/** Counts of the first two generated tokens over `trials` generations that draft `k` tokens per step. */
function firstTwo(rule: Rule, k: number, trials: number, seed: number): number[] {
  const rng = new Rng(seed);
  const counts = new Array<number>(V * V).fill(0);
  for (let t = 0; t < trials; t++) {
    const out: number[] = [];
    while (out.length < 2) {
      const pos = out.length;
      const drafts = Array.from({ length: k }, (_, j) => draftToken(row(Q, pos + j), V, shape, rng));
      const rows = new Float32Array((k + 1) * V);
      for (let j = 0; j <= k; j++) rows.set(row(P, pos + j), j * V);
      out.push(...rule(rows, drafts, rng));
    }
    counts[out[0] * V + out[1]]++;
  }
  return counts;
}

/** Pearson's statistic against the expected law; cells the law excludes must be empty. */
function chiSquare(counts: number[], expected: number[]): { stat: number; df: number } {
  const N = counts.reduce((a, b) => a + b, 0);
  let stat = 0;
  let cells = 0;
  counts.forEach((o, i) => {
    if (expected[i] === 0) {
      assert.equal(o, 0, `cell ${i} has probability 0 under the target but was drawn ${o} times`);
      return;
    }
    const e = N * expected[i];
    stat += (o - e) ** 2 / e;
    cells++;
  });
  return { stat, df: cells - 1 };
}

/** The chi-square quantile at 1 − 0.001 (Wilson–Hilferty; z = 3.090). */
const critical = (df: number): number => df * (1 - 2 / (9 * df) + 3.090 * Math.sqrt(2 / (9 * df))) ** 3;

test('sampling: the first two tokens follow the target law with 1 and 3 drafts per step (chi-square, α = 0.001); accepting every draft fails it', () => {
  const p0 = distribution(row(P, 0), V, shape.temperature, shape.topP);
  const p1 = distribution(row(P, 1), V, shape.temperature, shape.topP);
  const expected = Array.from({ length: V * V }, (_, i) => p0[Math.floor(i / V)] * p1[i % V]);
  assert.ok(expected.filter((e) => e === 0).length > 0, 'top-p should exclude some cells, so the test covers them');
  const trials = 20000;
  for (const k of [1, 3]) {
    const { stat, df } = chiSquare(firstTwo(standard, k, trials, 11 + k), expected);
    assert.ok(stat < critical(df), `${k} drafts: chi-square ${stat.toFixed(1)} on ${df} df exceeds ${critical(df).toFixed(1)}`);
  }
  // The control: the drafter's law, not the target's, which this test must detect.
  const counts = firstTwo(acceptAll, 1, trials, 12);
  const N = counts.reduce((a, b) => a + b, 0);
  let stat = 0;
  counts.forEach((o, i) => {
    if (expected[i] > 0) stat += (o - N * expected[i]) ** 2 / (N * expected[i]);
    else if (o > 0) stat = Infinity;
  });
  assert.ok(stat > 10 * critical(V * V - 1), `accepting every draft should be far from the target law, chi-square ${stat}`);
});

test('sampling: a draft the target gives probability 0 is always rejected; a drafter equal to the target is always accepted', () => {
  const rng = new Rng(3);
  const target = Float32Array.of(5, 5, -50, -50, -50); // top-p 0.93 keeps ids 0 and 1 only
  const q = distribution(Float32Array.of(-50, -50, 5, -50, -50), V, shape.temperature, shape.topP);
  for (let i = 0; i < 200; i++) {
    const v = verifyDrafts(target, V, V, [{ id: 2, q }], shape, rng);
    assert.equal(v.accepted, 0);
    assert.ok(v.tokens[0] === 0 || v.tokens[0] === 1);
  }
  let accepted = 0;
  for (let i = 0; i < 200; i++) {
    const r = rowsOf([P[0], P[1]]);
    const d = draftToken(row(P, 0), V, shape, rng);
    accepted += verifyDrafts(r, V, V, [d], shape, rng).accepted;
  }
  assert.equal(accepted, 200);
  assert.throws(() => verifyDrafts(target, V, V, [{ id: 0 }], shape, rng), /needs the distribution it was drawn from/);
});

test('the pod setting: MOE_SPECULATIVE_METHOD / MOE_SPECULATIVE_TOKENS (or the flags) read and checked, naming the variable', async () => {
  const { speculativeOption } = await import('../../../runtime/src/serve/http/main.js');
  assert.equal(speculativeOption(undefined, undefined), undefined);
  assert.equal(speculativeOption('', ''), undefined);
  assert.deepEqual(speculativeOption('mtp', undefined), { method: 'mtp', tokens: 1 });
  assert.deepEqual(speculativeOption('mtp', '3'), { method: 'mtp', tokens: 3 });
  assert.throws(() => speculativeOption('eagle', '1'), /--speculative \/ MOE_SPECULATIVE_METHOD must be mtp .*got "eagle"/);
  assert.throws(() => speculativeOption('mtp', '0'), /MOE_SPECULATIVE_TOKENS must be an integer >= 1, got "0"/);
  assert.throws(() => speculativeOption('mtp', '9'), /MOE_SPECULATIVE_TOKENS must be at most 8, got 9/);
  assert.throws(() => speculativeOption(undefined, '2'), /MOE_SPECULATIVE_TOKENS is set without --speculative \/ MOE_SPECULATIVE_METHOD/);
});
