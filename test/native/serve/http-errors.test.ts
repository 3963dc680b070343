// Bad requests get OpenAI-style errors with the right status and the field named; nothing reaches the engine.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { call, MODEL, post, stack, type Stack } from './http-fixture.js';

let s: Stack;
before(async () => { s = await stack({ decode: 1 }); });
after(async () => { await s.close(); });

function assertError(r: { status: number; json?: any; text: string }, status: number, param: string | null, code?: string): void {
  assert.equal(r.status, status, r.text);
  assert.equal(typeof r.json?.error?.message, 'string', r.text);
  assert.equal(typeof r.json.error.type, 'string');
  assert.equal(r.json.error.param, param, r.text);
  if (code) assert.equal(r.json.error.code, code);
}

const cases: [string, string, unknown, number, string | null, string?][] = [
  ['missing messages', '/v1/chat/completions', { model: MODEL }, 400, 'messages'],
  ['empty messages', '/v1/chat/completions', { model: MODEL, messages: [] }, 400, 'messages'],
  ['an unknown role', '/v1/chat/completions', { model: MODEL, messages: [{ role: 'tool', content: 'x' }] }, 400, 'messages[0].role'],
  ['max_tokens -1', '/v1/completions', { model: MODEL, prompt: 'hi', max_tokens: -1 }, 400, 'max_tokens'],
  ['max_tokens 1.5', '/v1/chat/completions', { model: MODEL, messages: [{ role: 'user', content: 'x' }], max_tokens: 1.5 }, 400, 'max_tokens'],
  ['n = 2', '/v1/completions', { model: MODEL, prompt: 'hi', n: 2 }, 400, 'n'],
  ['temperature 3', '/v1/completions', { model: MODEL, prompt: 'hi', temperature: 3 }, 400, 'temperature'],
  ['top_p 0', '/v1/completions', { model: MODEL, prompt: 'hi', top_p: 0 }, 400, 'top_p'],
  ['five stop strings', '/v1/completions', { model: MODEL, prompt: 'hi', stop: ['a', 'b', 'c', 'd', 'e'] }, 400, 'stop'],
  ['two prompts', '/v1/completions', { model: MODEL, prompt: ['a', 'b'] }, 400, 'prompt'],
  ['a token id outside the vocabulary', '/v1/completions', { model: MODEL, prompt: [1, 2, 999] }, 400, 'prompt'],
  ['stream_options without stream', '/v1/completions', { model: MODEL, prompt: 'hi', stream_options: { include_usage: true } }, 400, 'stream_options'],
  ['chat logprobs not a boolean', '/v1/chat/completions', { model: MODEL, messages: [{ role: 'user', content: 'x' }], logprobs: 1 }, 400, 'logprobs'],
  ['chat top_logprobs without logprobs', '/v1/chat/completions', { model: MODEL, messages: [{ role: 'user', content: 'x' }], top_logprobs: 3 }, 400, 'top_logprobs'],
  ['chat top_logprobs 21', '/v1/chat/completions', { model: MODEL, messages: [{ role: 'user', content: 'x' }], logprobs: true, top_logprobs: 21 }, 400, 'top_logprobs'],
  ['logprobs 21', '/v1/completions', { model: MODEL, prompt: 'hi', logprobs: 21 }, 400, 'logprobs'],
  ['logprobs true (completions take a number)', '/v1/completions', { model: MODEL, prompt: 'hi', logprobs: true }, 400, 'logprobs'],
  ['logprobs 1.5', '/v1/completions', { model: MODEL, prompt: 'hi', logprobs: 1.5 }, 400, 'logprobs'],
  ['echo not a boolean', '/v1/completions', { model: MODEL, prompt: 'hi', echo: 'yes' }, 400, 'echo'],
  ['max_tokens 0 without echo', '/v1/completions', { model: MODEL, prompt: 'hi', max_tokens: 0 }, 400, 'max_tokens'],
  ['chat max_tokens 0', '/v1/chat/completions', { model: MODEL, messages: [{ role: 'user', content: 'x' }], max_tokens: 0 }, 400, 'max_tokens'],
  ['suffix', '/v1/completions', { model: MODEL, prompt: 'hi', suffix: 'end' }, 400, 'suffix'],
  ['no model', '/v1/completions', { prompt: 'hi' }, 400, 'model'],
  ['a wrong model', '/v1/completions', { model: 'gpt-4', prompt: 'hi' }, 404, 'model', 'model_not_found'],
  ['a JSON array body', '/v1/completions', [1, 2], 400, 'body'],
];

for (const [what, path, body, status, param, code] of cases) {
  test(`${what} → ${status} naming ${param}`, async () => {
    assertError(await post(s.url, path, body), status, param, code);
  });
}

test('a prompt longer than the engine takes is a 400 from the decode replica, passed through', async () => {
  assertError(await post(s.url, '/v1/completions', { model: MODEL, prompt: 'x'.repeat(600), max_tokens: 1 }), 400, 'prompt');
});

test('invalid JSON → 400 invalid_json', async () => {
  assertError(await call(s.url, 'POST', '/v1/completions', '{"model": '), 400, null, 'invalid_json');
});

test('an unknown path → 404; a wrong method → 405 with Allow', async () => {
  assertError(await call(s.url, 'GET', '/v1/engines'), 404, null);
  const r = await call(s.url, 'GET', '/v1/completions');
  assertError(r, 405, null, 'method_not_allowed');
  assert.equal(r.headers.allow, 'POST');
});

test('a body over the limit → 413', async () => {
  assertError(await post(s.url, '/v1/completions', { model: MODEL, prompt: 'x'.repeat(2 << 20) }), 413, null, 'request_too_large');
});

test('the internal endpoints refuse bad bodies with the field named', async () => {
  const d = s.decodes[0].url();
  assertError(await post(d, '/internal/v1/generate', { id: 'a', promptIds: [1, -2], params: { maxTokens: 1, temperature: 0, topP: 1, seed: 0, stopTokenIds: [] } }), 400, 'promptIds[1]');
  assertError(await post(d, '/internal/v1/generate', { id: 'a', promptIds: [1], params: { maxTokens: 0, temperature: 0, topP: 1, seed: 0 } }), 400, 'params.maxTokens');
  assertError(await post(d, '/internal/v1/prefill', { id: 'a', promptIds: [1], params: {} }), 404, null);
  assertError(await post(d, '/internal/v1/generate', { id: 'a', promptIds: [1], params: { maxTokens: 1, temperature: 0, topP: 1, seed: 0 }, logprobs: { topK: 21, prompt: false } }), 400, 'logprobs.topK');
  assertError(await post(d, '/internal/v1/generate', { id: 'a', promptIds: [1], params: { maxTokens: 1, temperature: 0, topP: 1, seed: 0 }, logprobs: { topK: 1 } }), 400, 'logprobs.prompt');
  // max_tokens 0 scores the prompt: allowed only with the prompt's log-probabilities.
  assertError(await post(d, '/internal/v1/generate', { id: 'a', promptIds: [1], params: { maxTokens: 0, temperature: 0, topP: 1, seed: 0 }, logprobs: { topK: 1, prompt: false } }), 400, 'params.maxTokens');
});
