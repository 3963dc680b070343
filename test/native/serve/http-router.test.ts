// The router end to end with the real engine: SSE streaming equals the non-streaming answer, prefill → decode
// hand-off gives the same greedy tokens as local prefill, stop strings cut the text, /v1/models, metrics.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { byteTokenizer } from '../../../runtime/src/data/tokenizer.js';
import { lintExposition } from '../../util/promlint.js';
import { call, metricValue, MODEL, post, sseEvents, stack, tinyEngine, type Stack } from './http-fixture.js';

let s: Stack;
before(async () => { s = await stack({ prefill: 1, decode: 2 }); });
after(async () => { await s.close(); });

const chat = { model: MODEL, messages: [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'Tell me a fable.' }], max_tokens: 24, temperature: 0 };

test('a streaming chat completion is SSE chunks ending in [DONE] whose text equals the non-streaming answer', async () => {
  const plain = await post(s.url, '/v1/chat/completions', chat);
  assert.equal(plain.status, 200, plain.text);
  assert.equal(plain.json.object, 'chat.completion');
  assert.equal(plain.json.choices[0].message.role, 'assistant');
  assert.equal(plain.json.choices[0].finish_reason, 'length');
  assert.equal(plain.json.usage.completion_tokens, 24);
  const prompt = '<｜begin▁of▁sentence｜>You are terse.<｜User｜>Tell me a fable.<｜Assistant｜>';
  assert.equal(plain.json.usage.prompt_tokens, Buffer.byteLength(prompt));
  assert.equal(plain.json.usage.total_tokens, plain.json.usage.prompt_tokens + 24);

  const streamed = await post(s.url, '/v1/chat/completions', { ...chat, stream: true, stream_options: { include_usage: true } });
  assert.equal(streamed.status, 200);
  assert.match(String(streamed.headers['content-type']), /^text\/event-stream/);
  const ev = sseEvents(streamed.text);
  assert.equal(ev.at(-1), '[DONE]');
  const chunks = ev.slice(0, -1);
  for (const c of chunks) {
    assert.equal(c.object, 'chat.completion.chunk');
    assert.equal(c.model, MODEL);
    assert.equal(c.id, chunks[0].id);
  }
  assert.deepEqual(chunks[0].choices[0].delta, { role: 'assistant', content: '' });
  const usageChunk = chunks.at(-1);
  assert.deepEqual(usageChunk.choices, []);
  assert.deepEqual(usageChunk.usage, plain.json.usage);
  const finish = chunks.at(-2);
  assert.equal(finish.choices[0].finish_reason, 'length');
  assert.deepEqual(finish.choices[0].delta, {});
  const text = chunks.slice(1, -2).map((c: any) => { assert.equal(c.choices[0].finish_reason, null); return c.choices[0].delta.content; }).join('');
  assert.equal(text, plain.json.choices[0].message.content);
});

test('text completions stream `text_completion` chunks with choices[0].text and match the JSON answer', async () => {
  const body = { model: MODEL, prompt: ['Once upon a time'], max_tokens: 20, temperature: 0 };
  const plain = await post(s.url, '/v1/completions', body);
  assert.equal(plain.status, 200, plain.text);
  assert.equal(plain.json.object, 'text_completion');
  const ev = sseEvents((await post(s.url, '/v1/completions', { ...body, stream: true })).text);
  assert.equal(ev.at(-1), '[DONE]');
  const chunks = ev.slice(0, -1);
  assert.ok(chunks.every((c: any) => c.object === 'text_completion' && !('usage' in c)));
  assert.equal(chunks.at(-1).choices[0].finish_reason, 'length');
  assert.equal(chunks.map((c: any) => c.choices[0].text).join(''), plain.json.choices[0].text);
});

test('the prefill → decode hand-off through the router gives the tokens a local prefill gives', async () => {
  const before = metricValue(await (await call(s.prefills[0].url(), 'GET', '/metrics')).text, 'moe_serve_requests_total', { endpoint: '/internal/v1/prefill', code: '200' }) ?? 0;
  const body = { model: MODEL, prompt: 'The fox and the grapes', max_tokens: 16, temperature: 0 };
  const viaPrefill = await post(s.url, '/v1/completions', body);
  assert.equal(viaPrefill.status, 200, viaPrefill.text);
  const afterCount = metricValue(await (await call(s.prefills[0].url(), 'GET', '/metrics')).text, 'moe_serve_requests_total', { endpoint: '/internal/v1/prefill', code: '200' });
  assert.equal(afterCount, before + 1, 'the prefill replica served the prompt');
  // The same engine weights, called directly with a local prefill: the greedy ids the router must have shown.
  const e = tinyEngine();
  const ids: number[] = [];
  await e.generate({ id: 'ref', promptIds: byteTokenizer.encode(body.prompt), params: { maxTokens: 16, temperature: 0, topP: 1, seed: 0, stopTokenIds: [] } }, (t) => ids.push(t));
  await e.close();
  assert.equal(viaPrefill.json.choices[0].text, byteTokenizer.decode(ids));
});

test('a stop string cuts the text before it and finishes with stop', async () => {
  const body = { model: MODEL, prompt: 'A crow sat', max_tokens: 40, temperature: 0 };
  const full = (await post(s.url, '/v1/completions', body)).json.choices[0].text as string;
  // A stop string taken from the middle of the unconstrained answer.
  const chars = [...full];
  const stop = chars.slice(10, 12).join('');
  const cut = full.slice(0, full.indexOf(stop));
  for (const stream of [false, true]) {
    const r = await post(s.url, '/v1/completions', { ...body, stop: [stop, '\u0000never'], stream });
    assert.equal(r.status, 200, r.text);
    if (stream) {
      const chunks = sseEvents(r.text).slice(0, -1);
      assert.equal(chunks.map((c: any) => c.choices[0].text).join(''), cut);
      assert.equal(chunks.at(-1).choices[0].finish_reason, 'stop');
    } else {
      assert.equal(r.json.choices[0].text, cut);
      assert.equal(r.json.choices[0].finish_reason, 'stop');
    }
  }
});

test('GET /v1/models lists the served model; /healthz and /readyz answer', async () => {
  const r = await call(s.url, 'GET', '/v1/models');
  assert.equal(r.status, 200);
  assert.deepEqual(r.json.data.map((m: any) => [m.id, m.object]), [[MODEL, 'model']]);
  assert.equal(r.json.object, 'list');
  assert.equal((await call(s.url, 'GET', '/healthz')).status, 200);
  assert.equal((await call(s.url, 'GET', '/readyz')).status, 200);
  assert.equal((await call(s.decodes[0].url(), 'GET', '/readyz')).status, 200);
});

test('metrics expose TTFT observations, token counters and routed tokens (one counter, no per-expert series by default)', async () => {
  await post(s.url, '/v1/completions', { model: MODEL, prompt: 'x', max_tokens: 3, temperature: 0 });
  const router = (await call(s.url, 'GET', '/metrics')).text;
  assert.ok((metricValue(router, 'moe_serve_time_to_first_token_seconds_count', { role: 'router' }) ?? 0) >= 1, router);
  assert.ok((metricValue(router, 'moe_serve_inter_token_latency_seconds_count') ?? 0) >= 2);
  assert.ok((metricValue(router, 'moe_serve_generation_tokens_total') ?? 0) >= 3);
  assert.ok((metricValue(router, 'moe_serve_requests_total', { endpoint: '/v1/completions', code: '200' }) ?? 0) >= 1);
  const decodeTexts = await Promise.all(s.decodes.map(async (d) => (await call(d.url(), 'GET', '/metrics')).text));
  for (const t of decodeTexts) assert.deepEqual(lintExposition(t), [], 'a decode pod passes promtool check metrics');
  const decodeText = decodeTexts.join('\n');
  assert.ok((metricValue(decodeText, 'moe_serve_time_to_first_token_seconds_count', { role: 'decode' }) ?? 0) >= 1);
  assert.ok((metricValue(decodeText, 'moe_serve_expert_routed_tokens_total', { role: 'decode' }) ?? 0) > 0, 'routed tokens counted');
  assert.doesNotMatch(decodeText, /expert="/, 'no per-expert series unless asked for');
  assert.deepEqual(lintExposition(router), [], 'the router passes promtool check metrics');
  assert.ok(metricValue(decodeText, 'moe_serve_placement_version') !== undefined);
});
