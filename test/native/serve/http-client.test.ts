// The internal client: a pooled keep-alive socket the peer has just closed is retried on a fresh socket (not taken
// as the peer being down); a peer that is really down is a ConnectError; the connect timeout bounds a peer whose
// address drops SYNs (a deleted pod's IP); the idle timeout bounds a silent peer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, Agent } from 'node:http';
import { spawn } from 'node:child_process';
import net from 'node:net';
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

test('a peer whose address drops SYNs is a ConnectError after the connect timeout, not the kernel\'s 2 minutes', async () => {
  // A listening socket that never accepts, with a backlog of 0: once one connection waits in its queue, Linux drops
  // further SYNs, as the network does for a deleted pod's IP. (Node accepts at once, so the listener is python3's.)
  const py = spawn('python3', ['-c', "import socket,time; s=socket.socket(); s.bind(('127.0.0.1',0)); s.listen(0); print(s.getsockname()[1], flush=True); time.sleep(60)"]);
  const fillers: net.Socket[] = [];
  try {
    const port = await new Promise<number>((resolve, reject) => {
      py.once('error', (e) => reject(new Error(`python3 is needed for this test: ${e.message}`)));
      py.stdout.once('data', (d) => resolve(Number(String(d).trim())));
    });
    for (let i = 0; i < 3; i++) fillers.push(net.connect(port, '127.0.0.1').on('error', () => undefined));
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(fillers.some((f) => f.connecting), 'the queue is full: a later connect hangs');
    const t0 = performance.now();
    await assert.rejects(postJson(`http://127.0.0.1:${port}/internal/v1/generate`, {}, { idleTimeoutMs: 60_000, connectTimeoutMs: 300, agent: new Agent() }),
      (e: unknown) => e instanceof ConnectError && /no connection to .* within 300 ms/.test(e.message));
    const ms = performance.now() - t0;
    assert.ok(ms < 5000, `failed over in ${Math.round(ms)} ms`);
  } finally {
    for (const f of fillers) f.destroy();
    py.kill();
  }
});
