// The pieces of the API's logprobs/echo that need no model: float64 log-softmax and top-k on hand-checked rows,
// request parsing (logprobs, echo, max_tokens 0, top_logprobs, one-prompt batches), OpenAI's two response shapes,
// and the KV hand-off carrying the log-probabilities from prefill to decode.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { logSumExp, promptLogprobs, tokenLogprob, topIds } from '../../../runtime/src/serve/engine/logprobs.js';
import { parseChatRequest, parseCompletionRequest } from '../../../runtime/src/serve/http/openai.js';
import { codePoints, LogprobFormatter, tokenText } from '../../../runtime/src/serve/http/logprob-format.js';
import { decodeHandoff, encodeHandoff } from '../../../runtime/src/serve/engine/handoff.js';
import { modelConfig } from '../../../runtime/src/model/config.js';
import { ApiError } from '../../../runtime/src/serve/http/errors.js';

const close = (a: number, b: number, tol = 1e-12): void => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test('log-softmax in float64: hand-checked values, shift-invariant, large logits do not overflow', () => {
  // log(e^1 + e^2 + e^3) = 3 + log(1 + e^-1 + e^-2) = 3.40760596444438
  close(logSumExp(Float32Array.of(1, 2, 3), 3), 3.40760596444438);
  const lp = tokenLogprob(Float32Array.of(1, 2, 3), 3, 0, 2);
  close(lp.logprob, 1 - 3.40760596444438);
  assert.deepEqual(lp.top.map((t) => t.id), [2, 1]);
  close(lp.top[0].logprob, -0.40760596444438);
  close(lp.top[1].logprob, -1.40760596444438);
  // Uniform over 4 ids: log(1/4) each, whatever the offset.
  for (const x of [0, 1e4, -1e4]) close(tokenLogprob(Float32Array.of(x, x, x, x), 4, 3, 0).logprob, Math.log(0.25), 1e-9);
  // n < row length: ids at n and beyond are outside the distribution (the tokenizer cannot produce them).
  close(tokenLogprob(Float32Array.of(0, 0, 50), 2, 1, 0).logprob, Math.log(0.5));
});

test('top-k: sorted descending, ties to the lower id, k larger than n, k 0', () => {
  const row = Float32Array.of(0.5, 2, -1, 2, 7, 0.5);
  assert.deepEqual(topIds(row, 6, 4), [4, 1, 3, 0]);
  assert.deepEqual(topIds(row, 6, 10), [4, 1, 3, 0, 5, 2]);
  assert.deepEqual(topIds(row, 3, 2), [1, 0]);
  assert.deepEqual(topIds(row, 6, 0), []);
});

test('prompt log-probabilities: entry i is token i+1 from row i', () => {
  const V = 3;
  const logits = Float32Array.of(9, 9, 9, /* row 0 */ 0, 0, Math.log(2) as number, /* row 1 */ 1, 2, 3, /* row 2 (next token, unused) */ 5, 5, 5);
  const ids = Int32Array.of(1, 2, 0);
  const lps = promptLogprobs(logits, 1, V, ids, V, 1);
  assert.equal(lps.length, 2);
  close(lps[0].logprob, Math.log(0.5), 1e-7); // e^ln2 / (1 + 1 + 2) = 2/4 (ln 2 rounded to float32)
  close(lps[1].logprob, 1 - 3.40760596444438, 1e-7);
  assert.deepEqual(lps[1].top.map((t) => t.id), [2]);
});

function apiError(f: () => unknown): ApiError {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof ApiError);
    return e;
  }
  assert.fail('expected an ApiError');
}

test('completions: logprobs 0..20, echo, max_tokens 0 only with echo, a batch of one token-id prompt', () => {
  const base = { model: 'm', prompt: 'hi' };
  assert.equal(parseCompletionRequest(base).logprobs, undefined);
  assert.equal(parseCompletionRequest({ ...base, logprobs: false }).logprobs, undefined);
  assert.equal(parseCompletionRequest({ ...base, logprobs: null }).logprobs, undefined);
  assert.equal(parseCompletionRequest({ ...base, logprobs: 0 }).logprobs, 0);
  assert.equal(parseCompletionRequest({ ...base, logprobs: 20 }).logprobs, 20);
  for (const bad of [21, -1, 1.5, true, '3']) assert.equal(apiError(() => parseCompletionRequest({ ...base, logprobs: bad })).param, 'logprobs');
  const r = parseCompletionRequest({ ...base, echo: true, max_tokens: 0, logprobs: 1 });
  assert.equal(r.echo, true);
  assert.equal(r.maxTokens, 0);
  assert.equal(apiError(() => parseCompletionRequest({ ...base, max_tokens: 0 })).param, 'max_tokens');
  assert.equal(apiError(() => parseCompletionRequest({ ...base, echo: 1 })).param, 'echo');
  assert.deepEqual(parseCompletionRequest({ model: 'm', prompt: [[5, 6, 7]] }).prompt, [5, 6, 7]);
  assert.equal(apiError(() => parseCompletionRequest({ model: 'm', prompt: [[5], [6]] })).param, 'prompt');
  assert.equal(apiError(() => parseCompletionRequest({ ...base, best_of: 2 })).param, 'best_of');
});

test('chat: logprobs true with top_logprobs 0..20; top_logprobs needs logprobs; max_tokens stays >= 1', () => {
  const base = { model: 'm', messages: [{ role: 'user', content: 'x' }] };
  assert.equal(parseChatRequest(base).logprobs, undefined);
  assert.equal(parseChatRequest({ ...base, logprobs: true }).logprobs, 0);
  assert.equal(parseChatRequest({ ...base, logprobs: true, top_logprobs: 5 }).logprobs, 5);
  assert.equal(parseChatRequest({ ...base, logprobs: false, top_logprobs: 0 }).logprobs, undefined);
  assert.equal(apiError(() => parseChatRequest({ ...base, top_logprobs: 2 })).param, 'top_logprobs');
  assert.equal(apiError(() => parseChatRequest({ ...base, logprobs: true, top_logprobs: 21 })).param, 'top_logprobs');
  assert.equal(apiError(() => parseChatRequest({ ...base, logprobs: 'yes' })).param, 'logprobs');
  assert.equal(apiError(() => parseChatRequest({ ...base, max_tokens: 0 })).param, 'max_tokens');
});

test('response shapes: token text (bytes: form for partial UTF-8), the chosen token added to its dict, chat bytes', () => {
  assert.equal(tokenText(Uint8Array.of(0x41)), 'A');
  assert.equal(tokenText(Uint8Array.of(0xe2, 0x82)), 'bytes:\\xe2\\x82');
  assert.equal(tokenText(Uint8Array.of(0xe2, 0x82, 0xac)), '€');
  assert.equal(codePoints('a😀é'), 3);
  const table = Array.from({ length: 256 }, (_, i) => Uint8Array.of(i));
  const f = new LogprobFormatter(table);
  const entries = [
    { id: 0x61, logprob: null, top: null, offset: 0 },
    { id: 0x62, logprob: -2, top: [{ id: 0x63, logprob: -0.5 }], offset: 1 },
    { id: 0x63, logprob: -0.5, top: [{ id: 0x63, logprob: -0.5 }], offset: 2 },
  ];
  assert.deepEqual(f.completion(entries), {
    tokens: ['a', 'b', 'c'],
    token_logprobs: [null, -2, -0.5],
    top_logprobs: [null, { c: -0.5, b: -2 }, { c: -0.5 }],
    text_offset: [0, 1, 2],
  });
  assert.deepEqual(f.chat(entries.slice(1)), { content: [
    { token: 'b', logprob: -2, bytes: [0x62], top_logprobs: [{ token: 'c', logprob: -0.5, bytes: [0x63] }] },
    { token: 'c', logprob: -0.5, bytes: [0x63], top_logprobs: [{ token: 'c', logprob: -0.5, bytes: [0x63] }] },
  ] });
});

test('the KV hand-off carries the first token\'s and the prompt\'s log-probabilities exactly, and refuses a wrong count', () => {
  const c = modelConfig('deepseek-v3-tiny', { num_hidden_layers: 1, kv_lora_rank: 2, qk_rope_head_dim: 2 });
  const n = 3;
  const h = {
    id: 'x', promptIds: Int32Array.of(1, 2, 3), firstToken: 4,
    latent: [new Float32Array(n * 2).fill(0.5)], kpe: [new Float32Array(n * 2).fill(-1)],
    firstLogprob: { logprob: -0.1234567890123456789, top: [{ id: 4, logprob: -0.1234567890123456789 }] },
    promptLogprobs: [{ logprob: -3.3, top: [] }, { logprob: -1e-300, top: [{ id: 3, logprob: -1e-300 }] }],
  };
  const back = decodeHandoff(encodeHandoff(h), c);
  assert.deepEqual(back.firstLogprob, h.firstLogprob);
  assert.deepEqual(back.promptLogprobs, h.promptLogprobs);
  const plain = decodeHandoff(encodeHandoff({ ...h, firstLogprob: undefined, promptLogprobs: undefined }), c);
  assert.equal(plain.firstLogprob, undefined);
  assert.equal(plain.promptLogprobs, undefined);
  assert.throws(() => decodeHandoff(encodeHandoff({ ...h, promptLogprobs: h.promptLogprobs.slice(1) }), c), /promptLogprobs must be an array of promptLen - 1 = 2/);
});
