// The engine's cache formats (kv-cache.ts): the same token sequence through the fp32 engine (so the cache is the only
// rounding) with an f32, a bf16 and an fp8 cache; the logits of the rounded caches stay within a stated distance of the
// f32 cache's, and a cache whose values were wiped lands far outside it. All-dense layers: with MoE layers a random
// model's near-tied expert scores flip under any perturbation and the maximum error measures those flips instead.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { need } from '../../util/need.js';
import { modelConfig } from '../../../runtime/src/model/config.js';
import { buildParams } from '../../../runtime/src/model/transformer.js';
import { Rng } from '../../../runtime/src/model/rng.js';
import { alloc32 } from '../../../runtime/src/model/tensor.js';
import { nativeAvailable } from '../../../runtime/src/model/precision.js';
import { InferenceModel } from '../../../runtime/src/serve/engine/inference-model.js';
import { SequenceCache, type KvCacheType } from '../../../runtime/src/serve/engine/kv-cache.js';
import { weightsFromParams } from '../../../runtime/src/serve/engine/weights.js';

const native = need(nativeAvailable(), 'the native kernels addon (runtime/native)', 'run `make native`');

function logits(m: InferenceModel, cache: SequenceCache, ids: Int32Array, pre: number): Float32Array {
  const V = m.config.vocab_size;
  const out = new Float32Array((ids.length - pre + 1) * V);
  out.set(m.forward([{ cache, tokens: ids.subarray(0, pre) }]), 0);
  for (let i = pre; i < ids.length; i++) out.set(m.forward([{ cache, tokens: ids.subarray(i, i + 1) }]), (i - pre + 1) * V);
  return out;
}

function err(a: Float32Array, ref: Float32Array): { max: number; mean: number } {
  let mx = 0, sum = 0, scale = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(a[i] - ref[i]);
    mx = Math.max(mx, d);
    sum += d;
    scale = Math.max(scale, Math.abs(ref[i]));
  }
  return { max: mx / scale, mean: sum / ref.length / scale };
}

test('bf16 and fp8 caches: logits within 1% (bf16) and 10% (fp8) of max |logit| of the f32 cache\'s over a prefill and 16 decode steps', { skip: !native && 'see the failing prerequisite test' }, () => {
  const c = modelConfig('deepseek-v3-tiny', { vocab_size: 256, first_k_dense_replace: 4 });
  const P = buildParams(c, alloc32, new Rng(21));
  // Larger weights than the init scale, so attention is far from uniform.
  for (const p of P.list()) if (p.shape.length === 2) for (let i = 0; i < p.data.length; i++) p.data[i] *= 4;
  const m = new InferenceModel(c, weightsFromParams(P), 'fp32');
  const r = new Rng(4);
  const ids = Int32Array.from({ length: 48 }, () => r.int(256));
  const run = (t: KvCacheType) => logits(m, m.newCache(4, t), ids, 32);
  const ref = run('f32');
  const bf16 = err(run('bf16'), ref), fp8 = err(run('fp8'), ref);
  console.log(`logit error vs the f32 cache (relative to max |logit|): bf16 max ${bf16.max.toExponential(2)} mean ${bf16.mean.toExponential(2)}; fp8 max ${fp8.max.toExponential(2)} mean ${fp8.mean.toExponential(2)}`);
  assert.ok(bf16.max > 0 && bf16.max < 0.01, `bf16 ${bf16.max}`);
  assert.ok(fp8.max > bf16.max && fp8.max < 0.1, `fp8 ${fp8.max}`);
  // The same run with the prompt's cached values wiped after the prefill lands far outside the fp8 bound: the
  // comparison sees what the cache holds.
  const V = c.vocab_size;
  const wiped = m.newCache(4, 'f32');
  const out = new Float32Array(ref.length);
  out.set(m.forward([{ cache: wiped, tokens: ids.subarray(0, 32) }]), 0);
  for (const l of wiped.layers) l.rows.fill(0);
  for (let i = 32; i < ids.length; i++) out.set(m.forward([{ cache: wiped, tokens: ids.subarray(i, i + 1) }]), (i - 31) * V);
  assert.ok(err(out, ref).max > 0.1, `wiped cache ${err(out, ref).max}`);
});

test('EngineOptions.kvCache picks the cache format (default bf16 in fp8, f32 in fp32); a bad one is refused naming it', { skip: !native && 'see the failing prerequisite test' }, async () => {
  const c = modelConfig('deepseek-v3-tiny', { vocab_size: 256 });
  const tok = (await import('../../../runtime/src/data/tokenizer.js')).byteTokenizer;
  const { Engine } = await import('../../../runtime/src/serve/engine/engine.js');
  const greedy = { maxTokens: 4, temperature: 0, topP: 1, seed: 0, stopTokenIds: [] };
  for (const [precision, kvCache, want] of [['fp8', undefined, 'bf16'], ['fp32', undefined, 'f32'], ['fp8', 'fp8', 'fp8'], ['fp8', 'f32', 'f32']] as const) {
    const e = Engine.random(c, tok, { maxBatch: 2, maxQueue: 2, precision, ...(kvCache ? { kvCache } : {}) }, 3);
    assert.equal(e.model.kvCache, want);
    assert.equal(e.model.newCache().type, want);
    const out: number[] = [];
    await e.generate({ id: 'x', promptIds: Int32Array.from([1, 2, 3, 4, 5]), params: greedy }, (t) => out.push(t));
    await e.close();
    assert.equal(out.length, 4);
  }
  assert.throws(() => Engine.random(c, tok, { maxBatch: 1, maxQueue: 1, kvCache: 'fp16' as 'fp8' }, 3), /kvCache must be f32, bf16 or fp8, got fp16/);
});
