import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server } from 'node:net';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { V1Container } from '@kubernetes/client-node';
import { initialState, observe, probeTiming, type ThresholdState } from '../../cluster/runner/probe-state.js';
import { checkOnce, resolvePort, type ProbeTarget } from '../../cluster/runner/probe-check.js';
import { Prober } from '../../cluster/runner/prober.js';
import { containerReady, podStatus, type ContainerRecord } from '../../cluster/runner/pod-status.js';

function verdicts(start: ThresholdState, results: boolean[], successThreshold: number, failureThreshold: number): boolean[] {
  let s = start;
  return results.map((ok) => (s = observe(s, ok, { successThreshold, failureThreshold })).verdict);
}

test('probe timing takes the API defaults: period 10 s, timeout 1 s, success 1, failure 3, no delay', () => {
  assert.deepEqual(probeTiming({}), { initialDelayMs: 0, periodMs: 10_000, timeoutMs: 1000, successThreshold: 1, failureThreshold: 3 });
  assert.deepEqual(probeTiming({ initialDelaySeconds: 2, periodSeconds: 1, timeoutSeconds: 3, successThreshold: 2, failureThreshold: 1 }),
    { initialDelayMs: 2000, periodMs: 1000, timeoutMs: 3000, successThreshold: 2, failureThreshold: 1 });
});

test('readiness starts not ready and turns ready after successThreshold successes in a row', () => {
  assert.equal(initialState('readiness').verdict, false);
  assert.deepEqual(verdicts(initialState('readiness'), [false, true, false, true, true], 2, 3), [false, false, false, false, true]);
});

test('a ready container stays ready until failureThreshold failures in a row', () => {
  const ready: ThresholdState = { verdict: true, last: true, run: 5 };
  assert.deepEqual(verdicts(ready, [false, false, true, false, false, false], 1, 3), [true, true, true, true, true, false]);
});

test('liveness starts alive; one failure with failureThreshold 1 says dead', () => {
  assert.equal(initialState('liveness').verdict, true);
  assert.deepEqual(verdicts(initialState('liveness'), [true, false], 1, 1), [true, false]);
});

const c: V1Container = { name: 'main', image: 'x', ports: [{ name: 'http', containerPort: 8080 }] };

test('a probe port is a number or a named container port; an unknown name is an error naming it', () => {
  assert.equal(resolvePort(9000, c), 9000);
  assert.equal(resolvePort('http', c), 8080);
  assert.throws(() => resolvePort('metrics', c), /"metrics" is neither a number nor the name of one of container main's ports/);
});

const target = (container: V1Container = c): ProbeTarget => ({ podIP: '127.0.0.1', container, env: { PATH: process.env.PATH ?? '' }, cwd: process.cwd(), mounts: [] });

test('httpGet: 200 passes, 503 fails with its status code, a closed port fails with the URL', async () => {
  let code = 503;
  const srv = createServer((req, res) => res.writeHead(req.url === '/readyz' ? code : 404).end());
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as AddressInfo).port;
  try {
    const probe = { httpGet: { path: '/readyz', port: 'web' } };
    const t = target({ name: 'main', image: 'x', ports: [{ name: 'web', containerPort: port }] });
    assert.deepEqual(await checkOnce(probe, t, 1000), { ok: false, message: 'HTTP probe failed with statuscode: 503' });
    code = 200;
    assert.deepEqual(await checkOnce(probe, t, 1000), { ok: true, message: 'HTTP 200' });
    assert.equal((await checkOnce({ httpGet: { path: '/other', port } }, t, 1000) as { ok: boolean }).ok, false);
  } finally {
    srv.close();
  }
  const closed = await checkOnce({ httpGet: { path: '/readyz', port } }, target(), 1000);
  assert.equal((closed as { ok: boolean }).ok, false);
  assert.match((closed as { message: string }).message, new RegExp(`Get "http://127.0.0.1:${port}/readyz": .*ECONNREFUSED`));
});

test('tcpSocket passes while something listens and fails once it stops', async () => {
  const srv: Server = createTcpServer((s) => s.destroy());
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as AddressInfo).port;
  assert.equal((await checkOnce({ tcpSocket: { port } }, target(), 1000) as { ok: boolean }).ok, true);
  srv.close();
  await once(srv, 'close');
  assert.equal((await checkOnce({ tcpSocket: { port } }, target(), 1000) as { ok: boolean }).ok, false);
});

test('exec passes on exit 0, fails with the exit code and output otherwise, and is cut off at the timeout', async () => {
  const t = { ...target(), env: { PATH: process.env.PATH ?? '', WANT: '0' } };
  assert.deepEqual(await checkOnce({ exec: { command: ['sh', '-c', 'exit $WANT'] } }, t, 1000), { ok: true, message: 'exit 0' });
  assert.deepEqual(await checkOnce({ exec: { command: ['sh', '-c', 'echo not yet; exit 3'] } }, t, 1000), { ok: false, message: 'command exited with 3: not yet' });
  const t0 = Date.now();
  assert.deepEqual(await checkOnce({ exec: { command: ['sleep', '5'] } }, t, 300), { ok: false, message: 'command timed out after 300 ms' });
  assert.ok(Date.now() - t0 < 3000, 'the timed-out command was killed');
});

test('a gRPC probe is reported unsupported', async () => {
  assert.deepEqual(await checkOnce({ grpc: { port: 1 } }, target(), 1000), { unsupported: 'gRPC probes are not supported by the process runner' });
});

test('a running container failing its readiness probe keeps ContainersReady and Ready False; a transition time survives pushes', () => {
  const t0 = new Date('2026-01-01T00:00:00Z');
  const t1 = new Date('2026-01-01T00:00:05Z');
  const rec = (ready?: boolean): ContainerRecord => ({ name: 'a', image: '', init: false, restartCount: 0, state: { kind: 'running', pid: 1, startedAt: t0 }, ready });
  assert.equal(containerReady(rec(false)), false);
  assert.equal(containerReady(rec(undefined)), true, 'no readiness probe: ready when running');
  const facts = { initDone: true, initFailed: false, restartPolicy: 'Always', podIP: '127.1.0.1', hostIP: '127.0.0.1', startTime: t0 };
  const notReady = podStatus({ ...facts, containers: [rec(false)] }, t0);
  assert.equal(notReady.phase, 'Running');
  assert.equal(notReady.containerStatuses?.[0]?.ready, false);
  assert.equal(notReady.containerStatuses?.[0]?.started, true);
  for (const type of ['ContainersReady', 'Ready']) assert.equal(notReady.conditions?.find((x) => x.type === type)?.status, 'False');
  const ready = podStatus({ ...facts, containers: [rec(true)], previous: notReady.conditions }, t1);
  const cond = (type: string) => ready.conditions?.find((x) => x.type === type);
  assert.equal(cond('Ready')?.status, 'True');
  assert.deepEqual(cond('Ready')?.lastTransitionTime, t1, 'Ready flipped at t1');
  assert.deepEqual(cond('Initialized')?.lastTransitionTime, t0, 'Initialized did not flip: it keeps t0');
});

test('a prober tells its hook only when the verdict changes, not on every attempt', async () => {
  const srv: Server = createTcpServer((s) => s.destroy());
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as AddressInfo).port;
  srv.close();
  await once(srv, 'close');
  const seen: boolean[] = [];
  const failures: string[] = [];
  const p = new Prober('readiness', { tcpSocket: { port }, periodSeconds: 1 }, target(), {
    onVerdict: (v) => seen.push(v), onFailure: (m) => failures.push(m), onUnsupported: () => assert.fail('tcpSocket is supported'),
  });
  p.start(new Date());
  try {
    await sleep(1500); // two failed attempts (at 0 s and 1 s): readiness was already false
    assert.deepEqual(seen, []);
    assert.equal(failures.length, 1, `identical failures are told once: ${failures.join(' | ')}`);
    const again = createTcpServer((s) => s.destroy()).listen(port, '127.0.0.1');
    try {
      await sleep(2200); // attempts at 2 s, 3 s pass
      assert.deepEqual(seen, [true]);
    } finally {
      again.close();
    }
  } finally {
    p.stop();
  }
});
