// Component processes of the local cluster. Each runs detached in its own process group (so `make cluster-up` can
// return while the cluster keeps running), logs to logs/<name>.log and leaves a pid file in pids/<name>.pid so that a
// later start or `cluster down` can stop whatever a killed run left behind.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Component {
  name: string;
  pid: number;
  log: string;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function startComponent(stateDir: string, name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Component {
  const logs = join(stateDir, 'logs');
  const pids = join(stateDir, 'pids');
  mkdirSync(logs, { recursive: true });
  mkdirSync(pids, { recursive: true });
  const log = join(logs, `${name}.log`);
  const fd = openSync(log, 'a');
  const child = spawn(cmd, args, { detached: true, stdio: ['ignore', fd, fd], env: { ...process.env, ...env } });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${name} (${cmd}): is the binary there and executable?`);
  child.unref();
  writeFileSync(join(pids, `${name}.pid`), String(child.pid));
  return { name, pid: child.pid, log };
}

export function tailLog(log: string, lines = 25): string {
  if (!existsSync(log)) return '(no log)';
  return readFileSync(log, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try { process.kill(pid, signal); } catch { /* already gone */ }
  }
}

/** Stops one component: SIGTERM to its process group, SIGKILL after `graceMs`. */
export async function stopPid(pid: number, graceMs = 5000): Promise<void> {
  if (!isAlive(pid)) return;
  killGroup(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return;
    await sleep(50);
  }
  killGroup(pid, 'SIGKILL');
  while (isAlive(pid)) await sleep(20);
}

/** Stops every component recorded under stateDir, in reverse start order (newest pid file first). */
export async function stopAll(stateDir: string, graceMs = 5000): Promise<void> {
  const pids = join(stateDir, 'pids');
  if (!existsSync(pids)) return;
  const files = readdirSync(pids).filter((f) => f.endsWith('.pid'));
  const entries = files.map((f) => ({ f, pid: Number(readFileSync(join(pids, f), 'utf8')) }));
  // Kubelets first, so that none restarts a container while the rest stops; the API server goes last so that
  // controllers and kwok stop while it still answers; etcd after it.
  const order = (f: string) => (f.startsWith('etcd') ? 2 : f.startsWith('kube-apiserver') ? 1 : f.startsWith('kubelet') ? -1 : 0);
  entries.sort((a, b) => order(a.f) - order(b.f));
  for (const { f, pid } of entries) {
    if (Number.isInteger(pid) && pid > 1) await stopPid(pid, graceMs);
    rmSync(join(pids, f), { force: true });
  }
}

/** Synchronous last-resort kill, for process 'exit' handlers (no awaiting possible there). */
export function killAllSync(stateDir: string): void {
  const pids = join(stateDir, 'pids');
  if (!existsSync(pids)) return;
  for (const f of readdirSync(pids)) {
    const pid = Number(readFileSync(join(pids, f), 'utf8'));
    if (Number.isInteger(pid) && pid > 1) killGroup(pid, 'SIGKILL');
  }
}
