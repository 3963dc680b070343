// Recipe pieces: E4M3/BF16 codecs, router selection, balance-bias update, LR schedule, AdamW with BF16 moments,
// data sampler determinism, corpus and configuration errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { decodeE4M3, encodeE4M3, fromBf16, toBf16, quantizeBlocks } from '../../../runtime/src/model/fp8.js';
import { route } from '../../../runtime/src/model/gate.js';
import { learningRate, AdamW, ADAMW_DEFAULTS } from '../../../runtime/src/train/adamw.js';
import { updateBiases } from '../../../runtime/src/train/balance.js';
import { Params } from '../../../runtime/src/model/params.js';
import { alloc32, alloc64 } from '../../../runtime/src/model/tensor.js';
import { Sampler } from '../../../runtime/src/data/sampler.js';
import { syntheticCorpus } from '../../../runtime/src/data/grammar.js';
import { parseJsonl } from '../../../runtime/src/data/corpus.js';
import { modelConfig } from '../../../runtime/src/model/config.js';
import { validateTrainOptions, defaultTrainOptions } from '../../../runtime/src/train/options.js';
import { gradScale } from '../../../runtime/src/model/precision.js';

test('E4M3 encode: known codes, round-to-nearest-even, saturation at 448, subnormals', () => {
  const cases: [number, number][] = [[0, 0x00], [1, 0x38], [-1, 0xb8], [448, 0x7e], [1000, 0x7e], [2 ** -9, 0x01], [2 ** -6, 0x08], [1.0625, 0x38], [1.1875, 0x3a], [0.5, 0x30], [3.5, 0x46]];
  for (const [v, code] of cases) assert.equal(encodeE4M3(v), code, `encode(${v})`);
  assert.equal(decodeE4M3(0x7f), NaN);
  for (let c = 0; c < 256; c++) if ((c & 0x7f) !== 0x7f) assert.equal(encodeE4M3(decodeE4M3(c)), c === 0x80 ? 0x80 : c, `code ${c} round trip`);
});

test('BF16 rounding is nearest-even on the dropped 16 bits', () => {
  assert.equal(toBf16(1), 0x3f80);
  assert.equal(fromBf16(toBf16(1 + 2 ** -8)), 1); // halfway, even stays
  assert.equal(fromBf16(toBf16(1 + 3 * 2 ** -8)), 1 + 2 ** -6); // halfway, odd rounds up
});

test('block quantisation: scale_inv = max(amax, 1e-4)/448 per 128×128 block, zero-padded edges', () => {
  const w = new Float32Array(130 * 3);
  w[0] = 448 * 2;
  w[129 * 3] = -7;
  const { q, scaleInv } = quantizeBlocks(w, 130, 3);
  assert.deepEqual(Array.from(scaleInv), [2, Math.fround(7 / 448)]);
  assert.equal(q[0], 0x7e);
  assert.equal(decodeE4M3(q[129 * 3]) * scaleInv[1], -7);
});

test('router: groups ranked by top-2 biased score, bias chooses but weights use unbiased scores', () => {
  // 4 experts in 2 groups, top-1 group, top-2 experts; logits give sigmoid scores s.
  const s = [0.9, 0.1, 0.6, 0.55];
  const logits = new Float64Array(s.map((p) => Math.log(p / (1 - p))));
  const shape = { E: 4, K: 2, groups: 2, topkGroup: 1, scale: 2.5 };
  let r = route(logits, new Float64Array(4), 1, shape);
  // group 0: 0.9+0.1 = 1.0 < group 1: 0.6+0.55 = 1.15 → experts 2, 3.
  assert.deepEqual(Array.from(r.idx), [2, 3]);
  assert.ok(Math.abs(r.weight[0] - 2.5 * 0.6 / 1.15) < 1e-12);
  // A bias on expert 1 moves group 0 ahead; the weights stay the unbiased scores.
  r = route(logits, new Float64Array([0, 0.3, 0, 0]), 1, shape);
  assert.deepEqual(Array.from(r.idx), [0, 1]);
  assert.ok(Math.abs(r.weight[1] - 2.5 * 0.1 / 1.0) < 1e-12);
  assert.deepEqual(Array.from(r.counts), [1, 1, 0, 0]);
});

test('bias update: overloaded experts go down by γ, underloaded up, mean-load ones stay', () => {
  const P = new Params(alloc32);
  P.buffers.set('l.gate.e_score_correction_bias', new Float32Array(4));
  updateBiases(P, new Map([['l', new Int32Array([5, 1, 3, 3])]]), 0.25);
  assert.deepEqual(Array.from(P.buffer('l.gate.e_score_correction_bias')), [-0.25, 0.25, 0, 0]);
});

test('learning rate: linear warm-up then cosine to the minimum', () => {
  const c = { ...ADAMW_DEFAULTS, lr: 1, minLr: 0.1, warmupSteps: 10, totalSteps: 110 };
  assert.equal(learningRate(c, 0), 0.1);
  assert.equal(learningRate(c, 9), 1);
  assert.ok(Math.abs(learningRate(c, 60) - 0.55) < 1e-12);
  assert.equal(learningRate(c, 110), 0.1);
});

test('AdamW: first step moves each weight by lr·sign(g) (+ decay on matrices only); moments stored as BF16', () => {
  const P = new Params(alloc64);
  const w = P.add('w', [1, 2], true);
  const n = P.add('n', [2], false);
  w.data.set([1, 1]);
  n.data.set([1, 1]);
  w.grad.set([0.5, -2]);
  n.grad.set([3, 0]);
  const opt = new AdamW(P, { ...ADAMW_DEFAULTS, totalSteps: 1, weightDecay: 0.1 });
  opt.update(0, 0.01);
  assert.ok(Math.abs(w.data[0] - (1 - 0.01 * (1 + 0.1))) < 1e-6);
  assert.ok(Math.abs(w.data[1] - (1 + 0.01 * (1 - 0.1))) < 1e-6);
  assert.ok(Math.abs(n.data[0] - 0.99) < 1e-6);
  assert.equal(n.data[1], 1);
  assert.equal(opt.m.get('w')![1], toBf16(0.1 * -2));
  P.get('w').grad.set([30, 40]);
  assert.equal(opt.clipGrads(), Math.sqrt(30 * 30 + 40 * 40 + 9));
});

test('sampler: same seed → same batches; a restored position continues exactly; epochs reshuffle', () => {
  const tokens = Int32Array.from({ length: 200 }, (_, i) => i);
  const a = new Sampler(tokens, 10, 12, 7);
  const seq = Array.from({ length: 30 }, () => Array.from(a.next(1)));
  const b = new Sampler(tokens, 10, 12, 7);
  for (let i = 0; i < 13; i++) b.next(1);
  const c = new Sampler(tokens, 10, 12, 7);
  c.pos = { ...b.pos };
  assert.deepEqual(Array.from(c.next(1)), seq[13]);
  assert.equal(a.windows, 19);
  const epoch0 = seq.slice(0, 19).map((w) => w[0]).sort((x, y) => x - y);
  assert.deepEqual(epoch0, Array.from({ length: 19 }, (_, i) => i * 10));
  assert.notDeepEqual(seq.slice(19, 30), seq.slice(0, 11));
  assert.throws(() => new Sampler(tokens.subarray(0, 5), 10, 12, 1), /fewer than one window of 12/);
});

test('the shipped corpus is exactly the synthetic generator output (seed 42, 400000 bytes)', () => {
  const file = readFileSync(new URL('../../../../examples/corpus/fables.txt', import.meta.url), 'utf8');
  assert.equal(file, syntheticCorpus(42, 400000));
});

test('JSONL documents need a string "text" field; errors name the line', () => {
  assert.deepEqual(parseJsonl('{"text":"a"}\n\n{"text":"b"}\n', 'f.jsonl'), ['a', 'b']);
  assert.throws(() => parseJsonl('{"text":"a"}\n{"body":"b"}', 'f.jsonl'), /f\.jsonl:2: .*"text"/);
});

test('configuration errors name the field or flag', () => {
  assert.throws(() => modelConfig('deepseek-v3-huge'), /unknown; use one of .*deepseek-v3-tiny/);
  assert.throws(() => modelConfig('deepseek-v3-tiny', { n_group: 3 }), /n_routed_experts \(16\) must be a multiple of n_group \(3\)/);
  assert.throws(() => validateTrainOptions(defaultTrainOptions({ batch: 0 })), /--batch must be a positive integer/);
});

test('gradient rescale is the power of two that brings amax into [1, 2)', () => {
  assert.equal(gradScale(new Float32Array([3e-7, -1e-7])), 2 ** 22); // 3e-7 · 2^22 ≈ 1.26
  assert.equal(gradScale(new Float32Array([-5, 1])), 0.25);
  assert.equal(gradScale(new Float32Array([1])), 1);
  assert.equal(gradScale(new Float32Array(3)), 1);
});
