// The model's layer-range forward (model/layer-range.ts): ranges chained as pipeline stages chain them give step()'s
// gradients bit for bit, the asynchronous driver gives the synchronous one's numbers, and the MLP hook is called
// once per layer (main and MTP) forward and once per layer backward, in reverse.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { localMlp } from '../../../runtime/src/model/block.js';
import { forwardRange, forwardRangeAsync } from '../../../runtime/src/model/layer-range.js';
import type { MlpHook } from '../../../runtime/src/model/mlp-hook.js';
import type { Params } from '../../../runtime/src/model/params.js';
import { Rng } from '../../../runtime/src/model/rng.js';
import { alloc64 } from '../../../runtime/src/model/tensor.js';
import { buildParams, step } from '../../../runtime/src/model/transformer.js';
import { ctx64, microConfig } from './gradcheck.js';

const c = microConfig({ num_hidden_layers: 3, num_nextn_predict_layers: 2 });
const B = 2, S = 5, L = c.num_hidden_layers;
const opts = { alpha: 0.01, mtpLambda: 0.3 };

function setup(): { P: Params; tokens: Int32Array } {
  const P = buildParams(c, alloc64, new Rng(3));
  const r = new Rng(4);
  for (const [, b] of P.buffers) for (let i = 0; i < b.length; i++) b[i] = (r.next() - 0.5) * 0.2;
  const tokens = Int32Array.from({ length: B * (S + 1 + c.num_nextn_predict_layers) }, () => r.int(c.vocab_size));
  return { P, tokens };
}

const grads = (P: Params): Float64Array[] => P.list().map((p) => Float64Array.from(p.grad));

test('ranges [0, 1) and [1, L) chained give step()\'s losses and gradients', () => {
  const { P, tokens } = setup();
  const ref = step(ctx64, P, c, tokens, B, S, { ...opts, backward: true });
  const want = grads(P);
  P.zeroGrad();
  const o = { ...opts, microBatches: 1 };
  const a = forwardRange(ctx64, P, c, tokens, B, S, { from: 0, to: 1, embed: true, head: false }, o);
  const b = forwardRange(ctx64, P, c, tokens, B, S, { from: 1, to: L, embed: false, head: true }, o, a.y);
  assert.equal(a.logits, undefined);
  assert.equal(b.y, undefined);
  assert.deepEqual(b.logits, ref.logits);
  assert.equal(b.mainLoss, ref.mainLoss);
  assert.equal(b.mtpLoss, ref.mtpLoss);
  assert.ok(Math.abs(a.loss + b.loss - ref.loss) < 1e-12);
  assert.deepEqual(new Map([...a.counts, ...b.counts]), ref.counts);
  const dx = b.back();
  assert.equal(a.back(dx), undefined);
  assert.deepEqual(grads(P), want);
});

test('the asynchronous driver gives the synchronous one\'s numbers', async () => {
  const { P, tokens } = setup();
  const r = { from: 0, to: L, embed: true, head: true };
  const o = { ...opts, microBatches: 3 };
  const s = forwardRange(ctx64, P, c, tokens, B, S, r, o);
  s.back();
  const want = grads(P);
  P.zeroGrad();
  const f = await forwardRangeAsync(ctx64, P, c, tokens, B, S, r, o, undefined, async (...args) => localMlp(...args));
  assert.deepEqual([f.loss, f.mainLoss, f.mtpLoss, f.balance], [s.loss, s.mainLoss, s.mtpLoss, s.balance]);
  assert.equal(await f.back(), undefined);
  assert.deepEqual(grads(P), want);
});

test('the MLP hook runs once per layer forward and once per layer backward, in reverse', () => {
  const { P, tokens } = setup();
  const seen: string[] = [];
  const hook: MlpHook = (ctx, P2, prefix, c2, layer, x, T, S2, alpha) => {
    seen.push(`F${layer}`);
    const f = localMlp(ctx, P2, prefix, c2, layer, x, T, S2, alpha);
    return { ...f, back: (dy) => (seen.push(`B${layer}`), f.back(dy)) };
  };
  forwardRange(ctx64, P, c, tokens, B, S, { from: 0, to: L, embed: true, head: true }, { ...opts, microBatches: 1 }, undefined, hook).back();
  // Main layers 0..L-1, then the MTP modules' layers L, L+1; backward: the MTP chain from the deepest, then the main layers.
  assert.deepEqual(seen, ['F0', 'F1', 'F2', 'F3', 'F4', 'B4', 'B3', 'B2', 'B1', 'B0']);
});
