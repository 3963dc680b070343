// logprobs, echo and max_tokens 0 through the real router and decode replica (and prefill → decode hand-off): the
// prompt's log-probabilities equal the float64 log-softmax of the single-process reference's logits (model/transformer.ts
// step(), the same weights the engine was built from) at every position; top-k lists are sorted and hold the chosen
// token when it is among the k; values are the model's distribution before temperature; streams carry them per chunk.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { byteTokenizer } from '../../../runtime/src/data/tokenizer.js';
import type { TokenLogprob } from '../../../runtime/src/serve/engine/types.js';
import { renderChat } from '../../../runtime/src/data/chat-template.js';
import { call, MODEL, post, referenceLogprobs as reference, sseEvents, stack, tinyEngine, type Stack } from './http-fixture.js';

/** A byte token's text in the API: ASCII as itself, other bytes (never whole UTF-8 alone) as OpenAI's bytes:\xNN. */
const text = (t: number): string => (t < 0x80 ? String.fromCharCode(t) : `bytes:\\x${t.toString(16).padStart(2, '0')}`);

function sortedTop(lp: Float64Array, k: number): number[] {
  return Array.from(lp.keys()).sort((a, b) => lp[b] - lp[a] || a - b).slice(0, k);
}

const TOL = 1e-5;
let s: Stack;
let pd: Stack;
before(async () => {
  s = await stack({ decode: 1 });
  pd = await stack({ prefill: 1, decode: 1 });
});
after(async () => {
  await s.close();
  await pd.close();
});

const PROMPT = 'The quick brown fox';
const ids = Array.from(byteTokenizer.encode(PROMPT));

test('echo + logprobs + max_tokens 0: the prompt scored, nothing generated, values equal the reference at every position', async () => {
  const r = await post(s.url, '/v1/completions', { model: MODEL, prompt: PROMPT, echo: true, logprobs: 5, max_tokens: 0 });
  assert.equal(r.status, 200, r.text);
  const c = r.json.choices[0];
  assert.equal(c.text, PROMPT);
  assert.equal(c.finish_reason, 'length');
  assert.deepEqual(r.json.usage, { prompt_tokens: ids.length, completion_tokens: 0, total_tokens: ids.length });
  const lp = c.logprobs;
  assert.deepEqual(lp.tokens, PROMPT.split(''));
  assert.deepEqual(lp.text_offset, ids.map((_, i) => i));
  assert.equal(lp.token_logprobs[0], null);
  assert.equal(lp.top_logprobs[0], null);
  const ref = reference(ids);
  for (let i = 1; i < ids.length; i++) {
    const want = ref[i - 1];
    assert.ok(Math.abs(lp.token_logprobs[i] - want[ids[i]]) < TOL, `position ${i}: ${lp.token_logprobs[i]} vs ${want[ids[i]]}`);
    const top = sortedTop(want, 5);
    const inTop = top.includes(ids[i]);
    const d = lp.top_logprobs[i] as Record<string, number>;
    // The top 5, plus the chosen token when it is not among them.
    assert.equal(Object.keys(d).length, inTop ? 5 : 6, `position ${i}`);
    for (const t of top) assert.ok(Math.abs(d[text(t)] - want[t]) < TOL, `position ${i} top ${t}`);
    assert.equal(d[PROMPT[i]], lp.token_logprobs[i]);
  }
});

test('the same scores through prefill → decode (the hand-off carries them) and as token ids', async () => {
  const body = { model: MODEL, prompt: PROMPT, echo: true, logprobs: 3, max_tokens: 0 };
  const local = await post(s.url, '/v1/completions', body);
  const handed = await post(pd.url, '/v1/completions', body);
  const asIds = await post(s.url, '/v1/completions', { ...body, prompt: [ids] });
  assert.equal(handed.status, 200, handed.text);
  assert.deepEqual(handed.json.choices[0].logprobs, local.json.choices[0].logprobs);
  assert.deepEqual(asIds.json.choices[0].logprobs, local.json.choices[0].logprobs);
});

test('generated tokens: greedy is the top-1 of a sorted top-k, values equal the reference over prompt + completion; echo puts the prompt first', async () => {
  for (const url of [s.url, pd.url]) {
    const r = await post(url, '/v1/completions', { model: MODEL, prompt: PROMPT, echo: true, logprobs: 4, max_tokens: 5, temperature: 0 });
    assert.equal(r.status, 200, r.text);
    const c = r.json.choices[0];
    const lp = c.logprobs;
    assert.equal(lp.tokens.length, ids.length + 5);
    assert.ok(c.text.startsWith(PROMPT));
    // The completion's ids, from the byte-level token texts (a lone non-UTF-8 byte comes as bytes:\xNN).
    const gen = lp.tokens.slice(ids.length).map((t: string) => (t.startsWith('bytes:') ? parseInt(t.slice(8, 10), 16) : Buffer.from(t, 'utf8')[0]));
    const ref = reference([...ids, ...gen]);
    for (let j = 0; j < 5; j++) {
      const pos = ids.length + j;
      const want = ref[pos - 1];
      assert.equal(gen[j], sortedTop(want, 1)[0], `greedy token ${j}`);
      assert.ok(Math.abs(lp.token_logprobs[pos] - want[gen[j]]) < TOL);
      const vals = Object.values(lp.top_logprobs[pos] as Record<string, number>);
      assert.equal(vals.length, 4);
      assert.equal(Math.max(...vals), lp.token_logprobs[pos], 'the chosen (greedy) token is the top one, equal value');
    }
    assert.equal(r.json.usage.completion_tokens, 5);
  }
});

test('sampling at temperature 0.3: the values are the model distribution before temperature', async () => {
  const r = await post(s.url, '/v1/completions', { model: MODEL, prompt: PROMPT, logprobs: 0, max_tokens: 3, temperature: 0.3, seed: 11 });
  const lp = r.json.choices[0].logprobs;
  assert.equal(lp.tokens.length, 3);
  const gen = lp.tokens.map((t: string) => (t.startsWith('bytes:') ? parseInt(t.slice(8, 10), 16) : Buffer.from(t, 'utf8')[0]));
  const ref = reference([...ids, ...gen]);
  for (let j = 0; j < 3; j++) assert.ok(Math.abs(lp.token_logprobs[j] - ref[ids.length + j - 1][gen[j]]) < TOL, `token ${j}`);
  // logprobs 0: the chosen token only.
  for (const d of lp.top_logprobs) assert.equal(Object.keys(d).length, 1);
  // Without echo, offsets start at the completion.
  assert.equal(lp.text_offset[0], 0);
});

test('streaming: every chunk carries its own tokens\' log-probabilities; together they equal the JSON answer', async () => {
  const body = { model: MODEL, prompt: PROMPT, echo: true, logprobs: 2, max_tokens: 6, temperature: 0 };
  const json = (await post(pd.url, '/v1/completions', body)).json.choices[0];
  const r = await post(pd.url, '/v1/completions', { ...body, stream: true });
  const chunks = sseEvents(r.text).filter((e) => e !== '[DONE]');
  const all = { tokens: [] as string[], token_logprobs: [] as unknown[], top_logprobs: [] as unknown[], text_offset: [] as number[] };
  for (const ch of chunks) {
    const lp = ch.choices[0]?.logprobs;
    if (!lp) continue;
    assert.equal(lp.tokens.length, lp.token_logprobs.length);
    for (const k of Object.keys(all) as (keyof typeof all)[]) (all[k] as unknown[]).push(...lp[k]);
  }
  assert.deepEqual(all, json.logprobs);
  assert.equal(chunks.map((c) => c.choices[0]?.text ?? '').join(''), json.text);
  // The first chunk is the echoed prompt, with its tokens.
  assert.equal(chunks[0].choices[0].text, PROMPT);
  assert.equal(chunks[0].choices[0].logprobs.tokens.length, ids.length);
});

test('chat: logprobs + top_logprobs in the chat shape (sorted, greedy first, bytes), streamed per chunk too', async () => {
  const messages = [{ role: 'user' as const, content: 'hello' }];
  const body = { model: MODEL, messages, logprobs: true, top_logprobs: 3, max_tokens: 4, temperature: 0 };
  const r = await post(s.url, '/v1/chat/completions', body);
  assert.equal(r.status, 200, r.text);
  const content = r.json.choices[0].logprobs.content as { token: string; logprob: number; bytes: number[]; top_logprobs: { token: string; logprob: number; bytes: number[] }[] }[];
  assert.equal(content.length, 4);
  // The router's chat template (DeepSeek-V3's, data/chat-template.ts; a byte vocabulary encodes its specials as bytes).
  const prompt = Array.from(byteTokenizer.encode(renderChat(messages)));
  const ref = reference([...prompt, ...content.map((e) => e.bytes[0])]);
  content.forEach((e, j) => {
    assert.equal(e.top_logprobs.length, 3);
    for (let i = 1; i < 3; i++) assert.ok(e.top_logprobs[i - 1].logprob >= e.top_logprobs[i].logprob, 'sorted');
    assert.equal(e.top_logprobs[0].logprob, e.logprob);
    assert.deepEqual(e.top_logprobs[0].bytes, e.bytes);
    assert.ok(Math.abs(e.logprob - ref[prompt.length + j - 1][e.bytes[0]]) < TOL);
  });
  const st = sseEvents((await post(s.url, '/v1/chat/completions', { ...body, stream: true })).text).filter((e) => e !== '[DONE]');
  const streamed = st.flatMap((c) => c.choices[0]?.logprobs?.content ?? []);
  assert.deepEqual(streamed, content);
});

test('echo without logprobs, and echo with max_tokens 0 and no logprobs (answered by the router alone)', async () => {
  const r = await post(s.url, '/v1/completions', { model: MODEL, prompt: PROMPT, echo: true, max_tokens: 2, temperature: 0 });
  assert.ok(r.json.choices[0].text.startsWith(PROMPT));
  assert.equal(r.json.choices[0].logprobs, null);
  const z = await post(s.url, '/v1/completions', { model: MODEL, prompt: PROMPT, echo: true, max_tokens: 0 });
  assert.equal(z.json.choices[0].text, PROMPT);
  assert.equal(z.json.usage.completion_tokens, 0);
});

test('vLLM tokenizer endpoints: /tokenize, /detokenize, /tokenizer_info', async () => {
  const t = await post(s.url, '/tokenize', { prompt: 'hé', add_special_tokens: false });
  assert.deepEqual(t.json, { count: 3, max_model_len: null, tokens: [0x68, 0xc3, 0xa9] });
  assert.deepEqual((await post(s.url, '/detokenize', { tokens: [0x68, 0xc3, 0xa9] })).json, { prompt: 'hé' });
  assert.equal((await post(s.url, '/detokenize', { tokens: [1, 999] })).json.error.param, 'tokens');
  assert.equal((await post(s.url, '/tokenize', { prompt: 5 })).json.error.param, 'prompt');
  const info = await call(s.url, 'GET', '/tokenizer_info');
  assert.equal(info.json.eos_token, null);
  assert.equal(info.json.vocab_size, 256);
});

test('a batch mixing scored prompts and plain generations: each answer is what it is alone', async () => {
  const score = (p: string) => ({ model: MODEL, prompt: p, echo: true, logprobs: 2, max_tokens: 0 });
  const gen = (p: string) => ({ model: MODEL, prompt: p, max_tokens: 4, temperature: 0 });
  const bodies = [score('alpha beta'), gen('gamma'), score('delta'), gen('epsilon zeta eta'), { ...gen('theta'), logprobs: 1 }];
  const alone: { text: string; logprobs: unknown }[] = [];
  for (const b of bodies) alone.push((await post(s.url, '/v1/completions', b)).json.choices[0]);
  const together = await Promise.all(bodies.map((b) => post(s.url, '/v1/completions', b)));
  together.forEach((r, i) => {
    assert.equal(r.json.choices[0].text, alone[i].text, `request ${i}`);
    assert.deepEqual(r.json.choices[0].logprobs, alone[i].logprobs, `request ${i}`);
  });
});

test('engine: a scored prompt (max_tokens 0) and a plain one admitted in the same step; only the scored one gets prompt values', async () => {
  const params = (maxTokens: number) => ({ maxTokens, temperature: 0, topP: 1, seed: 0, stopTokenIds: [] });
  const a = byteTokenizer.encode('alpha beta');
  const b = byteTokenizer.encode('gamma delta');
  const solo = tinyEngine();
  const bAlone: number[] = [];
  await solo.generate({ id: 'b', promptIds: b, params: params(3) }, (t) => bAlone.push(t));
  await solo.close();
  const e = tinyEngine();
  const prompts: TokenLogprob[][] = [];
  const aTokens: number[] = [];
  const bTokens: number[] = [];
  let bPrompt = false;
  // Both are enqueued before the loop's first iteration (setImmediate), so one step admits both.
  const pa = e.generate({ id: 'a', promptIds: a, params: params(0), logprobs: { topK: 2, prompt: true } }, (t) => aTokens.push(t), undefined, (l) => prompts.push(l));
  const pb = e.generate({ id: 'b', promptIds: b, params: params(3) }, (t) => bTokens.push(t), undefined, () => { bPrompt = true; });
  const [ra, rb] = await Promise.all([pa, pb]);
  // max_tokens 0 is only for scoring a prompt; logprobs beyond 20 are refused by name.
  await assert.rejects(e.generate({ id: 'c', promptIds: b, params: params(0) }, () => {}), (err: Error & { param?: string }) => err.param === 'max_tokens');
  await assert.rejects(e.generate({ id: 'c', promptIds: b, params: params(0), logprobs: { topK: 1, prompt: false } }, () => {}), (err: Error & { param?: string }) => err.param === 'max_tokens');
  await assert.rejects(e.generate({ id: 'c', promptIds: b, params: params(1), logprobs: { topK: 21, prompt: false } }, () => {}), (err: Error & { param?: string }) => err.param === 'logprobs');
  await e.close();
  assert.deepEqual(ra, { finish: 'length', usage: { promptTokens: a.length, completionTokens: 0 } });
  assert.deepEqual(aTokens, []);
  assert.equal(prompts.length, 1);
  const ref = reference(a);
  prompts[0].forEach((lp, i) => {
    assert.ok(Math.abs(lp.logprob - ref[i][a[i + 1]]) < TOL);
    assert.equal(lp.top.length, 2);
    assert.ok(lp.top[0].logprob >= lp.top[1].logprob);
  });
  assert.equal(rb.usage.completionTokens, 3);
  assert.deepEqual(bTokens, bAlone);
  assert.equal(bPrompt, false);
});
