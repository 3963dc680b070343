// Sampling: greedy ties to the lower id; the nucleus keeps the smallest most-likely set reaching top_p; frequencies
// follow softmax(logits / temperature); one draw per token.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../runtime/src/model/rng.js';
import { sample } from '../../../runtime/src/serve/engine/sampler.js';

test('greedy: the largest logit, ties to the lower id, only ids below n', () => {
  const l = Float32Array.of(1, 3, 3, 2, 9);
  assert.equal(sample(l, 4, 0, 1, new Rng(1)), 1);
  assert.equal(sample(l, 5, 0, 1, new Rng(1)), 4);
});

test('temperature 1: frequencies match the softmax (probabilities 1/2, 1/4, 1/4)', () => {
  const l = Float32Array.of(Math.log(2), 0, 0);
  const r = new Rng(5);
  const n = 20_000;
  const c = [0, 0, 0];
  for (let i = 0; i < n; i++) c[sample(l, 3, 1, 1, r)]++;
  assert.ok(Math.abs(c[0] / n - 0.5) < 0.02 && Math.abs(c[1] / n - 0.25) < 0.02 && Math.abs(c[2] / n - 0.25) < 0.02, JSON.stringify(c));
});

test('top_p: only the nucleus is ever drawn, renormalised; temperature sharpens', () => {
  // probabilities 0.5, 0.3, 0.2: top_p 0.7 keeps {0, 1} with 5/8 and 3/8.
  const l = Float32Array.of(Math.log(0.5), Math.log(0.3), Math.log(0.2));
  const r = new Rng(9);
  const n = 16_000;
  const c = [0, 0, 0];
  for (let i = 0; i < n; i++) c[sample(l, 3, 1, 0.7, r)]++;
  assert.equal(c[2], 0);
  assert.ok(Math.abs(c[0] / n - 5 / 8) < 0.02, JSON.stringify(c));
  // A tiny temperature is all but greedy.
  let top = 0;
  for (let i = 0; i < 1000; i++) top += sample(l, 3, 0.05, 1, r) === 0 ? 1 : 0;
  assert.ok(top > 990, `${top}`);
});

test('one draw per sampled token: the stream after k tokens is the seed advanced k times', () => {
  const l = Float32Array.of(0, 0, 0, 0);
  const a = new Rng(3);
  for (let i = 0; i < 5; i++) sample(l, 4, 1, 1, a);
  const b = new Rng(3);
  for (let i = 0; i < 5; i++) b.next();
  assert.equal(a.next(), b.next());
});
