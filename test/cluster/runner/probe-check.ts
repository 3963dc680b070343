// One probe attempt, as the kubelet makes it: httpGet (2xx/3xx is success), tcpSocket (the connection opens) or exec
// (the command exits 0, run with the container's environment and working folder). gRPC probes are not supported:
// the caller reports that once and treats the probe as passing.
import { spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import type { V1Container, V1Probe } from '@kubernetes/client-node';
import { expand, rewritePaths } from './env.js';

export interface ProbeTarget {
  podIP: string;
  container: V1Container;
  /** How the container's process was started, for exec probes. */
  env: Record<string, string>;
  cwd: string;
  mounts: Array<{ mountPath: string; hostPath: string }>;
}

export type ProbeResult = { ok: boolean; message: string } | { unsupported: string };

/** The port a probe names: a number, or the name of one of the container's ports. */
export function resolvePort(port: number | string | undefined, c: V1Container): number {
  if (typeof port === 'number') return port;
  const named = (c.ports ?? []).find((p) => p.name === port);
  if (named) return named.containerPort;
  if (port !== undefined && /^\d+$/.test(port)) return Number(port);
  throw new Error(`port ${JSON.stringify(port)} is neither a number nor the name of one of container ${c.name}'s ports`);
}

export async function checkOnce(p: V1Probe, t: ProbeTarget, timeoutMs: number): Promise<ProbeResult> {
  try {
    if (p.httpGet) return await httpCheck(p, t, timeoutMs);
    if (p.tcpSocket) return await tcpCheck(p, t, timeoutMs);
    if (p.exec) return await execCheck(p, t, timeoutMs);
  } catch (err) {
    return { ok: false, message: (err as Error).message };
  }
  return { unsupported: p.grpc ? 'gRPC probes are not supported by the process runner' : 'the probe names no handler (httpGet, tcpSocket or exec)' };
}

function httpCheck(p: V1Probe, t: ProbeTarget, timeoutMs: number): Promise<ProbeResult> {
  const g = p.httpGet!;
  const port = resolvePort(g.port, t.container);
  const scheme = (g.scheme ?? 'HTTP').toUpperCase();
  const host = g.host || t.podIP;
  const path = g.path ? (g.path.startsWith('/') ? g.path : `/${g.path}`) : '/';
  const url = `${scheme.toLowerCase()}://${host}:${port}${path}`;
  const headers: Record<string, string> = { 'user-agent': 'kube-probe/process-runner', accept: '*/*', connection: 'close' };
  for (const h of g.httpHeaders ?? []) headers[h.name.toLowerCase()] = h.value;
  const request = scheme === 'HTTPS' ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    // The kubelet does not verify a probed server's certificate either.
    const req = request(url, { method: 'GET', headers, agent: false, timeout: timeoutMs, rejectUnauthorized: false }, (res) => {
      res.resume();
      const code = res.statusCode ?? 0;
      resolve(code >= 200 && code < 400 ? { ok: true, message: `HTTP ${code}` } : { ok: false, message: `HTTP probe failed with statuscode: ${code}` });
    });
    req.on('timeout', () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    req.on('error', (err) => resolve({ ok: false, message: `Get "${url}": ${err.message}` }));
    req.end();
  });
}

function tcpCheck(p: V1Probe, t: ProbeTarget, timeoutMs: number): Promise<ProbeResult> {
  const port = resolvePort(p.tcpSocket!.port, t.container);
  const host = p.tcpSocket!.host || t.podIP;
  return new Promise((resolve) => {
    const sock = connect({ host, port, timeout: timeoutMs });
    sock.once('connect', () => { sock.destroy(); resolve({ ok: true, message: 'connected' }); });
    sock.once('timeout', () => sock.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    sock.once('error', (err) => resolve({ ok: false, message: `dial tcp ${host}:${port}: ${err.message}` }));
  });
}

function execCheck(p: V1Probe, t: ProbeTarget, timeoutMs: number): Promise<ProbeResult> {
  const cmd = (p.exec!.command ?? []).map((a) => rewritePaths(expand(a, t.env), t.mounts));
  if (!cmd.length) return Promise.resolve({ ok: false, message: 'exec probe has an empty command' });
  return new Promise((resolve) => {
    const child = spawn(cmd[0]!, cmd.slice(1), { cwd: t.cwd, env: t.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const keep = (d: Buffer) => { out = (out + d.toString('utf8')).slice(-2048); };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* already gone */ }
    }, timeoutMs);
    child.once('error', (err) => { clearTimeout(timer); resolve({ ok: false, message: `exec ${cmd[0]}: ${err.message}` }); });
    child.once('close', (code) => {
      clearTimeout(timer);
      if (timedOut) resolve({ ok: false, message: `command timed out after ${timeoutMs} ms` });
      else if (code === 0) resolve({ ok: true, message: 'exit 0' });
      else resolve({ ok: false, message: `command exited with ${code ?? 'a signal'}: ${out.trim()}` });
    });
  });
}
