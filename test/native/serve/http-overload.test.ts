// Admission: when the decode engines' queues are full the client gets 429 with Retry-After (the router tried every
// replica first), router-level admission answers 429 itself, and every request that was accepted still completes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { call, metricValue, MODEL, post, stack } from './http-fixture.js';

test('overload gives 429 with Retry-After and every accepted request completes in full', async () => {
  // Each replica runs one sequence and queues one more; 12 clients at once overflow both.
  const s = await stack({ decode: 2, engine: { maxBatch: 1, maxQueue: 1 } });
  try {
    const rs = await Promise.all(Array.from({ length: 12 }, (_, i) => post(s.url, '/v1/completions', { model: MODEL, prompt: `request ${i}`, max_tokens: 40, temperature: 0 })));
    const ok = rs.filter((r) => r.status === 200);
    const full = rs.filter((r) => r.status === 429);
    assert.equal(ok.length + full.length, rs.length, rs.map((r) => `${r.status} ${r.text}`).join('\n'));
    assert.ok(ok.length >= 2, `at least one request per replica is accepted, got ${ok.length}`);
    assert.ok(full.length >= 1, 'the overflow is refused');
    for (const r of ok) {
      assert.equal(r.json.choices[0].finish_reason, 'length');
      assert.equal(r.json.usage.completion_tokens, 40);
    }
    for (const r of full) {
      assert.ok(Number(r.headers['retry-after']) >= 1, `Retry-After: ${String(r.headers['retry-after'])}`);
      assert.equal(r.json.error.code, 'rate_limit_exceeded');
    }
    const m = (await call(s.url, 'GET', '/metrics')).text;
    assert.equal(metricValue(m, 'moe_serve_requests_total', { endpoint: '/v1/completions', code: '429' }), full.length);
    // Once the load is gone the same replicas take requests again.
    assert.equal((await post(s.url, '/v1/completions', { model: MODEL, prompt: 'after', max_tokens: 2 })).status, 200);
  } finally {
    await s.close();
  }
});

test('router admission: beyond max in-flight the router answers 429 + Retry-After; the request in flight completes', async () => {
  const s = await stack({ decode: 1, router: { maxInFlight: 1 } });
  try {
    // A long streaming request holds the only slot; wait for its first bytes before the second request.
    const first = new Promise<string>((resolve, reject) => {
      const payload = JSON.stringify({ model: MODEL, prompt: 'hold', max_tokens: 200, temperature: 0, stream: true });
      const req = request(`${s.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.once('data', () => started());
        res.on('data', (c: string) => { text += c; });
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      req.end(payload);
    });
    let started!: () => void;
    await new Promise<void>((r) => { started = r; });
    const second = await post(s.url, '/v1/completions', { model: MODEL, prompt: 'x', max_tokens: 2 });
    assert.equal(second.status, 429, second.text);
    assert.equal(second.headers['retry-after'], '1');
    assert.match(second.json.error.message, /limit 1/);
    const text = await first;
    assert.ok(text.endsWith('data: [DONE]\n\n'), text.slice(-200));
  } finally {
    await s.close();
  }
});
