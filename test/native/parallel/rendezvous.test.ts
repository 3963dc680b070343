// The rendezvous store in one process: wire format, waits, timeouts, rendezvous errors and lifelines.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { StoreClient } from '../../../runtime/src/comm/rendezvous-client.js';
import { StoreServer } from '../../../runtime/src/comm/rendezvous-server.js';
import { rendezvous } from '../../../runtime/src/comm/rendezvous.js';
import { initDistributed } from '../../../runtime/src/comm/init.js';
import { encodeRequest, parseSetBody, requestReader, setBody } from '../../../runtime/src/comm/rendezvous-protocol.js';
import { readDistEnv, storeListenHost } from '../../../runtime/src/comm/pod-env.js';
import { freePort } from '../../../runtime/src/comm/local-launch.js';

async function withStore(worldSize: number, stallMs: number, fn: (s: StoreServer, connect: () => Promise<StoreClient>) => Promise<void>): Promise<void> {
  const s = await StoreServer.start({ host: '127.0.0.1', port: 0, worldSize, stallMs });
  const clients: StoreClient[] = [];
  try {
    await fn(s, async () => {
      const c = await StoreClient.connect('127.0.0.1', s.port, 2000);
      clients.push(c);
      return c;
    });
  } finally {
    for (const c of clients) await c.close();
    await s.close();
  }
}

describe('store wire format', () => {
  it('splits frames that arrive glued together and in pieces', () => {
    const a = encodeRequest(0x53, 7, setBody('k', Buffer.from('v1')));
    const b = encodeRequest(0x47, 8, Buffer.from([1, 2, 3, 4, 5]));
    const all = Buffer.concat([a, b]);
    const r = requestReader();
    assert.deepEqual(r.push(all.subarray(0, 5)), []);
    const got = [...r.push(all.subarray(5, a.length + 3)), ...r.push(all.subarray(a.length + 3))];
    assert.deepEqual(got.map((x) => [x.op, x.id, x.body.length]), [[0x53, 7, 4 + 1 + 2], [0x47, 8, 5]]);
    assert.deepEqual(parseSetBody(got[0].body), { key: 'k', value: Buffer.from('v1') });
  });

  it('rejects a set body whose key length runs past the end', () => {
    const body = Buffer.from([9, 0, 0, 0, 65]);
    assert.throws(() => parseSetBody(body), /key length 9 runs past the 5-byte body/);
  });
});

describe('store server', () => {
  it('a get waits for a later set; a get that times out returns undefined', async () => {
    await withStore(2, 10_000, async (_s, connect) => {
      const a = await connect(), b = await connect();
      const pending = a.get('x', 5000);
      await b.set('x', 'hello');
      assert.equal((await pending)?.toString(), 'hello');
      assert.equal(await a.get('never', 50), undefined);
      assert.deepEqual(await a.missing(['x', 'y']), ['y']);
    });
  });

  it('rendezvous names the ranks that never arrived', async () => {
    await withStore(4, 10_000, async (_s, connect) => {
      const c0 = await connect(), c2 = await connect();
      // Both checks are attached at once: under load rank 2's rejection can come first, and must not go unhandled.
      const p2 = assert.rejects(rendezvous(c2, 2, 4, 300, 'start'), /ranks 1, 3 never arrived/);
      await assert.rejects(rendezvous(c0, 0, 4, 300, 'start'), /ranks 1, 3 never arrived \(2 of 4 present\)/);
      await p2;
    });
  });

  it('a rank whose connection closes without a goodbye is reported lost to every watcher', async () => {
    await withStore(3, 10_000, async (s, connect) => {
      const c0 = await connect(), c1 = await connect(), c2 = await connect();
      await c0.hello(0, 3);
      await c1.hello(1, 3);
      await c2.hello(2, 3);
      const w0 = c0.watch(), w2 = c2.watch();
      await c2.close(); // a goodbye: not a failure
      assert.equal(s.aborted(), undefined);
      (c1 as unknown as { socket: { destroy(): void } }).socket.destroy();
      assert.match(await w0, /^rank 1 lost/);
      await assert.rejects(w2, /closed/); // c2 left before the abort
    });
  });

  it('a rank that stops heartbeating is declared stalled', async () => {
    await withStore(2, 200, async (s, connect) => {
      const c0 = await connect(), c1 = await connect();
      await c0.hello(0, 2);
      await c1.hello(1, 2);
      const w = c0.watch();
      const beat = setInterval(() => c0.ping().catch(() => undefined), 40);
      try {
        assert.match(await w, /^rank 1 stalled: no heartbeat for \d+ms \(limit 200ms\)/);
        assert.equal(s.arrived().length, 2);
      } finally {
        clearInterval(beat);
      }
    });
  });

  it('refuses a second rank with the same RANK and a rank from another world size', async () => {
    await withStore(2, 10_000, async (_s, connect) => {
      const a = await connect(), b = await connect();
      await a.hello(1, 2);
      await assert.rejects(b.hello(1, 2), /rank 1 is already connected/);
      await assert.rejects(b.hello(0, 3), /does not fit the store's world of 2 ranks/);
    });
  });
});

describe('pod contract environment', () => {
  const base = { RANK: '1', WORLD_SIZE: '4', MASTER_ADDR: 'job-0.job', MASTER_PORT: '29500' };
  it('reads the torchrun-compatible variables and the pod address', () => {
    const e = readDistEnv({ ...base, MOE_PP_RANK: '1', MOE_POD_IP: '10.0.0.5', MOE_PLAN: '/etc/moe/plan.json' }, 'host');
    assert.deepEqual([e.rank, e.worldSize, e.masterAddr, e.masterPort, e.ppRank, e.epRank, e.hostAddr, e.planPath],
      [1, 4, 'job-0.job', 29500, 1, 0, '10.0.0.5', '/etc/moe/plan.json']);
  });
  it('names the variable that is missing or wrong', () => {
    assert.throws(() => readDistEnv({ ...base, RANK: undefined }), /RANK is not set/);
    assert.throws(() => readDistEnv({ ...base, RANK: '4' }), /RANK 4 must be below WORLD_SIZE 4/);
    assert.throws(() => readDistEnv({ ...base, MASTER_PORT: '70000' }), /MASTER_PORT must be in 1..65535/);
    assert.throws(() => readDistEnv({ ...base, WORLD_SIZE: 'two' }), /WORLD_SIZE must be a non-negative integer, got 'two'/);
    // torchrun's node view must describe the same ranks (the operator sets NODE_RANK/NNODES for other runtimes too).
    const pod = { ...base, RANK: '8', WORLD_SIZE: '16', LOCAL_RANK: '0', LOCAL_WORLD_SIZE: '8' };
    assert.equal(readDistEnv({ ...pod, NODE_RANK: '1', NNODES: '2' }).rank, 8);
    assert.throws(() => readDistEnv({ ...pod, NODE_RANK: '0' }), /NODE_RANK 0 × LOCAL_WORLD_SIZE 8 \+ LOCAL_RANK 0 is not RANK 8/);
    assert.throws(() => readDistEnv({ ...pod, NNODES: '3' }), /NNODES 3 × LOCAL_WORLD_SIZE 8 is not WORLD_SIZE 16/);
  });
});

// Issue 19 item 4: pods sharing one network (host networking, the local runner) each run a rank 0 on MASTER_PORT.
describe('rendezvous store address', () => {
  const base = { RANK: '0', WORLD_SIZE: '1', MASTER_PORT: '29500' };
  it('listens on the pod address when the downward API gives one, else on the address MASTER_ADDR names', () => {
    assert.equal(storeListenHost(readDistEnv({ ...base, MASTER_ADDR: 'job-0.job', POD_IP: '10.0.0.7' }, 'job-0')), '10.0.0.7');
    assert.equal(storeListenHost(readDistEnv({ ...base, MASTER_ADDR: 'job-0.job', MOE_POD_IP: '10.0.0.8', POD_IP: '10.0.0.7' }, 'job-0')), '10.0.0.8');
    assert.equal(storeListenHost(readDistEnv({ ...base, MASTER_ADDR: '10.0.0.9' }, 'job-0')), '10.0.0.9');
  });

  it('two jobs\' stores on different addresses of 127.0.0.0/8 share one port', async () => {
    const port = await freePort();
    // As a job's rank 0 starts: the contract env, then initDistributed (store, watchdog, world group).
    const open = (ip: string) => initDistributed(readDistEnv({ ...base, MASTER_ADDR: ip, MASTER_PORT: String(port), POD_IP: ip }, 'pod'),
      { timeoutMs: 5000, stallMs: 10_000, heartbeatMs: 1000, graceMs: 500 });
    const a = await open('127.0.0.2');
    try {
      const b = await open('127.0.0.3');
      try {
        assert.equal(a.store.server!.port, port);
        assert.equal(b.store.server!.port, port);
        await a.store.client.set('who', 'a');
        await b.store.client.set('who', 'b');
        assert.equal(String(await a.store.client.get('who', 1000)), 'a');
        assert.equal(String(await b.store.client.get('who', 1000)), 'b');
      } finally {
        await b.shutdown();
      }
    } finally {
      await a.shutdown();
    }
  });
});
