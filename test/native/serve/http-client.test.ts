// The internal client: a pooled keep-alive socket the peer has just closed is retried on a fresh socket (not taken
// as the peer being down); a peer that is really down is a ConnectError; the idle timeout bounds a silent peer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, Agent } from 'node:http';
import { ConnectError, postJson, readAll } from '../../../runtime/src/serve/http/client.js';
import { deadUrl } from './http-fixture.js';

test('a request on a keep-alive socket the peer dropped is sent again on a fresh socket', async () => {
  const perSocket = new WeakMap<object, number>();
  let served = 0;
  const srv = createServer((req, res) => {
    const n = (perSocket.get(req.socket) ?? 0) + 1;
    perSocket.set(req.socket, n);
    // The second request on any socket finds it closed, as after the server's keep-alive timeout.
    if (n === 2) return void req.socket.destroy();
    req.resume();
    served++;
    res.end('ok');
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(srv.address() as { port: number }).port}/x`;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    for (let i = 0; i < 3; i++) {
      const res = await postJson(url, { i }, { idleTimeoutMs: 5000, agent });
      assert.equal((await readAll(res)).toString(), 'ok');
    }
    assert.equal(served, 3);
  } finally {
    agent.destroy();
    srv.close();
  }
});

test('a peer that is down is a ConnectError naming the URL', async () => {
  const url = await deadUrl();
  await assert.rejects(postJson(`${url}/internal/v1/generate`, {}, { idleTimeoutMs: 1000 }), (e: unknown) => e instanceof ConnectError && e.message.includes(url));
});

test('a silent peer is cut after the idle timeout', async () => {
  const srv = createServer(() => {});
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const t0 = Date.now();
  try {
    await assert.rejects(postJson(`http://127.0.0.1:${(srv.address() as { port: number }).port}/`, {}, { idleTimeoutMs: 200 }), /no answer .* within 200 ms/);
    assert.ok(Date.now() - t0 < 3000);
  } finally {
    srv.closeAllConnections();
    srv.close();
  }
});
