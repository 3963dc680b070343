// Failures of decode replicas as the client sees them: a replica dying mid-stream ends that stream with an
// OpenAI-style error event (non-streaming: 502), never a hang; the next request goes to the other replica; refused
// connections and silent replicas before the first token are skipped; a hung replica times out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { byteTokenizer } from '../../../runtime/src/data/tokenizer.js';
import { createRouter } from '../../../runtime/src/serve/http/router.js';
import { fixedRoutes } from '../../../runtime/src/serve/http/routes.js';
import type { HttpServer } from '../../../runtime/src/serve/http/server.js';
import { deadUrl, MODEL, observed, post, quiet, sseEvents, stack, type Stack } from './http-fixture.js';

/** Two decode replicas; the first one to emit its `killAt`-th token of a request is killed, once. */
async function fragile(killAt: number): Promise<{ s: Stack; killed: () => number }> {
  let victim = -1;
  const servers: HttpServer[] = [];
  const s = await stack({
    decode: 2,
    wrap: (e, i) => observed(e, {
      onToken: (n) => {
        if (n === killAt && victim < 0) {
          victim = i;
          servers[i].kill();
        }
      },
    }),
  });
  servers.push(...s.decodes);
  return { s, killed: () => victim };
}

test('a decode replica dying mid-stream ends the stream with an error event; the next request succeeds on the other', async () => {
  const { s, killed } = await fragile(5);
  try {
    const body = { model: MODEL, messages: [{ role: 'user', content: 'go on' }], max_tokens: 60, temperature: 0, stream: true };
    const broken = await post(s.url, '/v1/chat/completions', body);
    assert.equal(broken.status, 200);
    assert.ok(killed() >= 0, 'a replica was killed');
    const ev = sseEvents(broken.text);
    assert.ok(!ev.includes('[DONE]'), 'no [DONE] after a failure');
    const last = ev.at(-1);
    assert.equal(last.error.type, 'server_error', broken.text);
    assert.match(last.error.message, /decode replica .* (failed|closed)/);
    assert.equal(last.error.code, 'upstream_error');
    const next = await post(s.url, '/v1/chat/completions', body);
    const ok = sseEvents(next.text);
    assert.equal(ok.at(-1), '[DONE]', next.text);
    assert.equal(ok.at(-2).choices[0].finish_reason, 'length');
  } finally {
    await s.close();
  }
});

test('a decode replica dying during a non-streaming request → 502 with an error body', async () => {
  const { s, killed } = await fragile(3);
  try {
    const r = await post(s.url, '/v1/completions', { model: MODEL, prompt: 'abc', max_tokens: 50, temperature: 0 });
    assert.ok(killed() >= 0);
    assert.equal(r.status, 502, r.text);
    assert.equal(r.json.error.code, 'upstream_error');
    const again = await post(s.url, '/v1/completions', { model: MODEL, prompt: 'abc', max_tokens: 50, temperature: 0 });
    assert.equal(again.status, 200, again.text);
    assert.equal(again.json.usage.completion_tokens, 50);
  } finally {
    await s.close();
  }
});

test('refused connections before any token are skipped: every request succeeds on the live replica', async () => {
  const s = await stack({ decode: 1 });
  try {
    const live = s.decodes[0].url();
    s.routes.set({ model: MODEL, prefill: [], decode: [{ replica: 0, url: await deadUrl() }, { replica: 1, url: live }, { replica: 2, url: await deadUrl() }] });
    const rs = await Promise.all(Array.from({ length: 6 }, (_, i) => post(s.url, '/v1/completions', { model: MODEL, prompt: `p${i}`, max_tokens: 4, temperature: 0 })));
    for (const r of rs) assert.equal(r.status, 200, r.text);
  } finally {
    await s.close();
  }
});

test('a prefill replica that is down: decode prefills locally and the request still succeeds', async () => {
  const s = await stack({ decode: 1 });
  try {
    s.routes.set({ model: MODEL, prefill: [{ replica: 0, url: await deadUrl() }], decode: [{ replica: 0, url: s.decodes[0].url() }] });
    const r = await post(s.url, '/v1/completions', { model: MODEL, prompt: 'hello', max_tokens: 5, temperature: 0 });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.usage.completion_tokens, 5);
  } finally {
    await s.close();
  }
});

test('no replica reachable → 502; no decode route at all → 503 and /readyz 503', async () => {
  const s = await stack({ decode: 1 });
  try {
    s.routes.set({ model: MODEL, prefill: [], decode: [{ replica: 0, url: await deadUrl() }] });
    const r = await post(s.url, '/v1/completions', { model: MODEL, prompt: 'x', max_tokens: 2 });
    assert.equal(r.status, 502, r.text);
    assert.match(r.json.error.message, /no decode replica could serve/);
    s.routes.set({ model: MODEL, prefill: [], decode: [] });
    assert.equal((await post(s.url, '/v1/completions', { model: MODEL, prompt: 'x', max_tokens: 2 })).status, 503);
    assert.equal((await (await import('./http-fixture.js')).call(s.url, 'GET', '/readyz')).status, 503);
  } finally {
    await s.close();
  }
});

/** A fake decode leader: answers the head and `tokens` token lines, then goes silent (connection kept open). */
async function hangingDecode(tokens: number): Promise<Server> {
  const srv = createServer((req, res) => {
    req.resume();
    if (tokens < 0) return; // never answers at all
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    for (let i = 0; i < tokens; i++) res.write(`${JSON.stringify({ token: 65 + i })}\n`);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  return srv;
}

test('a replica that stops sending mid-stream times out into an error event, not a hang', async () => {
  const hung = await hangingDecode(3);
  const url = `http://127.0.0.1:${(hung.address() as { port: number }).port}`;
  const router = createRouter({ tokenizer: byteTokenizer, routes: fixedRoutes({ model: MODEL, prefill: [], decode: [{ replica: 0, url }] }), log: quiet, idleTimeoutMs: 300 });
  await router.listen(0, '127.0.0.1');
  try {
    const t0 = Date.now();
    const r = await post(router.url(), '/v1/completions', { model: MODEL, prompt: 'x', max_tokens: 10, stream: true });
    const ev = sseEvents(r.text);
    assert.equal(ev.map((e: any) => e.choices?.[0]?.text ?? '').join(''), 'ABC');
    assert.equal(ev.at(-1).error.code, 'upstream_error');
    assert.ok(Date.now() - t0 < 5000);
  } finally {
    router.kill();
    hung.closeAllConnections();
    hung.close();
  }
});

test('a replica that never answers times out and the next one serves the request', async () => {
  const silent = await hangingDecode(-1);
  const s = await stack({ decode: 1, router: { idleTimeoutMs: 300 } });
  try {
    s.routes.set({ model: MODEL, prefill: [], decode: [{ replica: 0, url: `http://127.0.0.1:${(silent.address() as { port: number }).port}` }, { replica: 1, url: s.decodes[0].url() }] });
    const rs = await Promise.all([0, 1].map(() => post(s.url, '/v1/completions', { model: MODEL, prompt: 'y', max_tokens: 3, temperature: 0 })));
    for (const r of rs) assert.equal(r.status, 200, r.text);
  } finally {
    await s.close();
    silent.closeAllConnections();
    silent.close();
  }
});
