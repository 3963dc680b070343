// Readiness probes for the components: plain HTTP for etcd, HTTPS with the admin client certificate for the API
// server, and HTTPS without verification for the scheduler's and controller manager's self-signed /healthz.
import { get as httpGet } from 'node:http';
import { get as httpsGet, type RequestOptions } from 'node:https';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Pki } from './pki.js';
import { isAlive, tailLog, type Component } from './processes.js';

function fetchStatus(url: string, opts: RequestOptions): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const getter = url.startsWith('https:') ? httpsGet : httpGet;
    const req = getter(url, { ...opts, timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ status: 0, body: e.message }));
  });
}

export function adminTls(pki: Pki): RequestOptions {
  return { ca: readFileSync(pki.caCert), cert: readFileSync(pki.clients.admin.cert), key: readFileSync(pki.clients.admin.key) };
}

/** Polls `url` until it answers 200, failing early (with the log tail) if the component's process exits. */
export async function waitHealthy(c: Component, url: string, opts: RequestOptions, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (!isAlive(c.pid)) throw new Error(`${c.name} exited during start-up; last log lines (${c.log}):\n${tailLog(c.log)}`);
    const r = await fetchStatus(url, opts);
    if (r.status === 200) return;
    last = `${r.status} ${r.body.slice(0, 300)}`;
    await sleep(100);
  }
  throw new Error(`${c.name} not healthy at ${url} after ${timeoutMs} ms (last answer: ${last}); log ${c.log}:\n${tailLog(c.log)}`);
}

export { fetchStatus };
