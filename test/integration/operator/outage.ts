// A real API-server outage for tests: the kube-apiserver process of a local cluster is killed (SIGKILL, so every watch
// and request fails at once, as in a crash or a node reboot) and started again later with the same command line, port,
// certificates and etcd. Only the API server goes: etcd keeps its data, so the objects are all there afterwards.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LocalCluster } from '../../cluster/index.js';
import { isAlive, startComponent } from '../../cluster/processes.js';
import { eventually } from '../../util/poll.js';

/** Kills the API server, keeps it down for `downMs`, restarts it and waits until it answers /readyz. */
export async function apiServerOutage(c: LocalCluster, downMs: number): Promise<void> {
  const pidFile = join(c.stateDir, 'pids', 'kube-apiserver.pid');
  const pid = Number(readFileSync(pidFile, 'utf8'));
  // The exact command line it was started with (binary and flags), read back from /proc.
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a.length > 0);
  if (argv.length < 2) throw new Error(`could not read the command line of kube-apiserver (pid ${pid})`);
  process.kill(-pid, 'SIGKILL');
  await eventually(() => !isAlive(pid), { timeoutMs: 10_000, what: `kube-apiserver pid ${pid} gone` });
  await sleep(downMs);
  startComponent(c.stateDir, 'kube-apiserver', argv[0]!, argv.slice(1));
  await eventually(async () => (await c.kubectl(['get', '--raw', '/readyz'])).trim() === 'ok', { timeoutMs: 90_000, intervalMs: 250, what: 'kube-apiserver ready again' });
}
