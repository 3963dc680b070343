// Lifecycle: a client that goes away aborts its engine request (directly and through the router); graceful
// shutdown finishes the requests in flight and refuses new connections.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { eventually } from '../../util/poll.js';
import { MODEL, observed, post, roleServer, stack, tinyEngine } from './http-fixture.js';

const params = (maxTokens: number) => ({ maxTokens, temperature: 0, topP: 1, seed: 1, stopTokenIds: [] });

/** Starts a streaming POST and resolves once `lines` data chunks arrived, with a function that drops the connection. */
function startStream(url: string, body: unknown, firstBytes: number): Promise<{ drop: () => void; done: Promise<string> }> {
  return new Promise((resolve, reject) => {
    let text = '';
    let finish!: (t: string) => void;
    const done = new Promise<string>((r) => { finish = r; });
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      res.setEncoding('utf8');
      let told = false;
      res.on('data', (c: string) => {
        text += c;
        if (!told && text.length >= firstBytes) {
          told = true;
          resolve({ drop: () => req.destroy(), done });
        }
      });
      res.on('end', () => finish(text));
      res.on('error', () => finish(text));
    });
    req.on('error', (e) => (text ? finish(text) : reject(e)));
    req.end(JSON.stringify(body));
  });
}

test('a client that disconnects aborts its engine request on the decode server', async () => {
  const outcomes: string[] = [];
  const engine = tinyEngine();
  const d = await roleServer('decode', observed(engine, { outcomes }));
  try {
    const s = await startStream(`${d.url()}/internal/v1/generate`, { id: 'r1', promptIds: [1, 2, 3], params: params(5000) }, 30);
    s.drop();
    await eventually(() => outcomes.length === 1, { what: 'the engine request to end', timeoutMs: 10_000 });
    assert.match(outcomes[0], /^rejected: /, 'aborted, not run to its 5000 tokens');
    assert.equal(engine.stats().running + engine.stats().waiting, 0);
  } finally {
    d.kill();
    await engine.close();
  }
});

test('a client that disconnects from the router aborts the request on the decode replica', async () => {
  const outcomes: string[] = [];
  const s = await stack({ decode: 1, engine: { maxSequenceLength: 4096 }, wrap: (e) => observed(e, { outcomes }) });
  try {
    const st = await startStream(`${s.url}/v1/completions`, { model: MODEL, prompt: 'long', max_tokens: 4000, temperature: 0, stream: true }, 200);
    st.drop();
    await eventually(() => outcomes.length === 1, { what: 'the engine request to end', timeoutMs: 10_000 });
    assert.match(outcomes[0], /^rejected: /);
  } finally {
    await s.close();
  }
});

test('graceful shutdown finishes the request in flight and refuses new connections', async () => {
  const engine = tinyEngine();
  const d = await roleServer('decode', engine);
  const url = d.url();
  try {
    const s = await startStream(`${url}/internal/v1/generate`, { id: 'g1', promptIds: [5, 6], params: params(300) }, 1);
    const stopped = d.shutdown(20_000);
    const text = await s.done;
    const lines = text.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines.at(-1), { finish: 'length', usage: { promptTokens: 2, completionTokens: 300 } });
    assert.equal(lines.filter((l) => 'token' in l).length, 300);
    assert.deepEqual(await stopped, { cut: 0 });
    await assert.rejects(post(url, '/internal/v1/generate', { id: 'g2', promptIds: [1], params: params(1) }), /ECONNREFUSED/);
  } finally {
    await engine.close();
  }
});

test('shutdown past the grace period cuts what is left and still resolves', async () => {
  const engine = tinyEngine({ maxSequenceLength: 100_000 });
  const d = await roleServer('decode', engine);
  try {
    const s = await startStream(`${d.url()}/internal/v1/generate`, { id: 'g3', promptIds: [5], params: params(90_000) }, 1);
    const r = await d.shutdown(200);
    assert.deepEqual(r, { cut: 1 });
    const text = await s.done;
    assert.ok(!text.includes('"finish"'));
  } finally {
    await engine.close();
  }
});
