// KV hand-off: prefill on engine A, bytes to engine B (same weights), B's generation equals A's local one; the codec
// rejects truncated, corrupted or mismatched blobs with a message that says what is wrong.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { byteTokenizer } from '../../../runtime/src/data/tokenizer.js';
import { modelConfig } from '../../../runtime/src/model/config.js';
import { Engine } from '../../../runtime/src/serve/engine/engine.js';
import { decodeHandoff, encodeHandoff } from '../../../runtime/src/serve/engine/handoff.js';
import type { SamplingParams } from '../../../runtime/src/serve/engine/types.js';
import { microServe } from './fixtures.js';

const c = modelConfig('deepseek-v3-tiny', microServe);
const mk = (): Engine => Engine.random(c, byteTokenizer, { maxBatch: 4, maxQueue: 4, precision: 'fp32' }, 21);

async function local(e: Engine, promptIds: Int32Array, params: SamplingParams): Promise<number[]> {
  const toks: number[] = [];
  await e.generate({ id: 'l', promptIds, params }, (t) => toks.push(t));
  return toks;
}

for (const temperature of [0, 0.8]) {
  test(`prefill on A, decode on B from the bytes: the same tokens as A generating alone (temperature ${temperature})`, async () => {
    const A = mk();
    const B = mk();
    const promptIds = byteTokenizer.encode('the quick brown fox');
    const params: SamplingParams = { maxTokens: 12, temperature, topP: 0.95, seed: 77, stopTokenIds: [] };
    const want = await local(A, promptIds, params);
    const h = await A.prefill({ id: 'p', promptIds, params });
    assert.equal(h.firstToken, want[0]);
    assert.equal(h.latent.length, c.num_hidden_layers);
    assert.equal(h.latent[0].length, promptIds.length * c.kv_lora_rank);
    assert.equal(h.kpe[0].length, promptIds.length * c.qk_rope_head_dim);
    const bytes = encodeHandoff(h);
    const got: number[] = [];
    const r = await B.generate({ id: 'p', promptIds, params, handoff: decodeHandoff(bytes, c) }, (t) => got.push(t));
    assert.deepEqual(got, want);
    assert.deepEqual(r.usage, { promptTokens: promptIds.length, completionTokens: 12 });
    // Prefill frees its cache: nothing stays on A.
    assert.equal(A.stats().kvTokens, 0);
    await Promise.all([A.close(), B.close()]);
  });
}

test('codec: f32 round trip is exact; bf16 halves the payload and stays within bf16 rounding', async () => {
  const A = mk();
  const promptIds = byteTokenizer.encode('abcdefgh');
  const h = await A.prefill({ id: 'x', promptIds, params: { maxTokens: 1, temperature: 0, topP: 1, seed: 0, stopTokenIds: [] } });
  const f = decodeHandoff(encodeHandoff(h), c);
  assert.deepEqual(f, h);
  const b16 = encodeHandoff(h, { dtype: 'bf16' });
  const payload = c.num_hidden_layers * promptIds.length * (c.kv_lora_rank + c.qk_rope_head_dim);
  assert.equal(encodeHandoff(h).length - b16.length, payload * 2);
  const b = decodeHandoff(b16, c);
  for (let l = 0; l < c.num_hidden_layers; l++) {
    for (let i = 0; i < h.latent[l].length; i++) assert.ok(Math.abs(b.latent[l][i] - h.latent[l][i]) <= Math.abs(h.latent[l][i]) * 2 ** -8);
  }
  await A.close();
});

test('codec: truncated, corrupted and mismatched blobs are rejected with what is wrong', async () => {
  const A = mk();
  const h = await A.prefill({ id: 'x', promptIds: byteTokenizer.encode('abc'), params: { maxTokens: 1, temperature: 0, topP: 1, seed: 0, stopTokenIds: [] } });
  const bytes = encodeHandoff(h);
  assert.throws(() => decodeHandoff(bytes.subarray(0, bytes.length - 3), c), /KV hand-off: the blob has \d+ bytes, its header .* needs \d+ \(truncated\?\)/);
  assert.throws(() => decodeHandoff(bytes.subarray(0, 10), c), /shorter than the 12-byte preamble/);
  assert.throws(() => decodeHandoff(bytes.subarray(0, 20), c), /header of \d+ bytes runs past the end/);
  const bad = Uint8Array.from(bytes);
  bad[0] ^= 1;
  assert.throws(() => decodeHandoff(bad, c), /bad magic/);
  const v2 = Uint8Array.from(bytes);
  v2[4] = 9;
  assert.throws(() => decodeHandoff(v2, c), /format version 9 is not supported/);
  assert.throws(() => decodeHandoff(bytes, modelConfig('deepseek-v3-tiny', { ...microServe, num_hidden_layers: 4 })), /4 layers|has 3 layers, this model 4/);
  assert.throws(() => decodeHandoff(bytes, modelConfig('deepseek-v3-tiny', { ...microServe, kv_lora_rank: 32 })), /kv_lora_rank is 16, this model's 32/);
  // A hand-off for another prompt is a bad request, not a silent mix-up.
  await assert.rejects(A.generate({ id: 'y', promptIds: byteTokenizer.encode('abd'), params: { maxTokens: 2, temperature: 0, topP: 1, seed: 0, stopTokenIds: [] }, handoff: h }, () => {}), /different prompt/);
  await A.close();
});
