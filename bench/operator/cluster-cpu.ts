// CPU seconds of the local cluster's processes (API server, etcd, scheduler, controller manager, KWOK) and of this
// process, read from /proc, so a bench can say where a run's CPU went on a machine whose two cores are the limit.
// Linux only; elsewhere the components read as empty.
import { readFileSync, readdirSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** CPU seconds so far by component: each process whose command line names `stateDir`, by its binary's name, and `bench`. */
export function clusterCpu(stateDir: string): Record<string, number> {
  const out: Record<string, number> = {};
  let pids: string[] = [];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return out;
  }
  for (const pid of pids) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      const self = Number(pid) === process.pid;
      if (!self && !cmd.some((a) => a.includes(stateDir))) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const secs = (Number(f[11]) + Number(f[12])) / TICKS_PER_SECOND; // utime, stime
      const name = self ? 'bench' : (cmd[0]!.split('/').pop() ?? 'other');
      out[name] = (out[name] ?? 0) + secs;
    } catch {
      // the process ended between the listing and the read
    }
  }
  return out;
}

/** `after − before` per component, rounded to 0.01 s. */
export function cpuSince(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const d = Object.entries(after).map(([k, v]): [string, number] => [k, Number((v - (before[k] ?? 0)).toFixed(2))]);
  return Object.fromEntries(d.sort((a, b) => b[1] - a[1]));
}

/** The cores each cluster process (this one excluded) used over the next `windowMs`, and their total. */
export async function clusterCores(stateDir: string, windowMs = 2000): Promise<{ total: number; cores: Record<string, number> }> {
  const before = clusterCpu(stateDir);
  await new Promise((r) => setTimeout(r, windowMs));
  const used = cpuSince(before, clusterCpu(stateDir));
  delete used.bench;
  const cores = Object.fromEntries(Object.entries(used).map(([k, v]) => [k, Number((v / (windowMs / 1000)).toFixed(2))]));
  return { total: Number(Object.values(cores).reduce((a, b) => a + b, 0).toFixed(2)), cores };
}

/** How long waitQuiet waited, and the cores each process used in its last window. */
export interface Quiet {
  waitedMs: number;
  cores: Record<string, number>;
}

/**
 * Waits until the cluster's processes use no more than `idleCores` (its own idle level: KWOK's node heartbeats grow with
 * the fleet) + 0.15 over a 2 s window, at most `timeoutMs`: one measured run must not pay for the tail of the one
 * before (the garbage collector deleting a job's children, KWOK and the controller manager finishing its pods'
 * deletions). Returns the wait and the last window's use per process.
 */
export async function waitQuiet(stateDir: string, idleCores: number, timeoutMs = 60_000): Promise<Quiet> {
  const t0 = performance.now();
  for (;;) {
    const { total, cores } = await clusterCores(stateDir);
    const waitedMs = Math.round(performance.now() - t0);
    if (total <= idleCores + 0.15 || waitedMs >= timeoutMs) return { waitedMs, cores };
  }
}
