// Each real node's pods live under a cgroup root of its own (/moe-<cluster>-<node>), in every hierarchy this machine
// mounts (v1 here; v2 handled too). Creating it lets the kubelet start; killing and removing it is how the cluster's
// teardown and the sweep after a killed run make sure no container process outlives the cluster.
import { existsSync, readdirSync, readFileSync, rmdirSync, mkdirSync, writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const CGROUP = '/sys/fs/cgroup';

/** Mount points of the cgroup hierarchies (v1: one per controller set; v2: the root itself). */
function hierarchies(): string[] {
  if (existsSync(join(CGROUP, 'cgroup.controllers'))) return [CGROUP];
  return readdirSync(CGROUP).map((d) => join(CGROUP, d)).filter((d) => {
    try { return statSync(d).isDirectory() && existsSync(join(d, 'cgroup.procs')); } catch { return false; }
  });
}

export function ensureCgroupRoot(root: string): void {
  for (const h of hierarchies()) {
    const dir = join(h, root);
    mkdirSync(dir, { recursive: true });
    // A v1 cpuset child starts empty and admits no task until it is given CPUs and memory nodes.
    if (existsSync(join(dir, 'cpuset.cpus')) && !readFileSync(join(dir, 'cpuset.cpus'), 'utf8').trim()) {
      writeFileSync(join(dir, 'cpuset.cpus'), readFileSync(join(h, 'cpuset.cpus'), 'utf8').trim());
      writeFileSync(join(dir, 'cpuset.mems'), readFileSync(join(h, 'cpuset.mems'), 'utf8').trim());
    }
  }
}

function pidsUnder(dir: string): number[] {
  const out: number[] = [];
  const walk = (d: string) => {
    try {
      out.push(...readFileSync(join(d, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number));
      for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(join(d, e.name));
    } catch { /* raced with removal */ }
  };
  walk(dir);
  return out;
}

function removeTree(dir: string): void {
  try {
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) removeTree(join(dir, e.name));
    rmdirSync(dir);
  } catch { /* busy or gone: the next sweep retries */ }
}

/** SIGKILLs every process in the cgroup root (all hierarchies), then removes the cgroups. Synchronous: it also runs
 *  from process 'exit' handlers. */
export function killCgroupRoot(root: string): void {
  const dirs = hierarchies().map((h) => join(h, root)).filter((d) => existsSync(d));
  for (let round = 0; round < 20; round++) {
    const pids = new Set(dirs.flatMap(pidsUnder));
    if (pids.size === 0) break;
    for (const pid of pids) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
    const until = Date.now() + 50;
    while (Date.now() < until) { /* let the kernel reap before reading again */ }
  }
  for (const d of dirs) removeTree(d);
}

/** Cgroup roots of real nodes (named /moe-<tag>-n<i>) whose names start with `prefix`. */
export function cgroupRootsWithPrefix(prefix: string): string[] {
  const names = new Set<string>();
  for (const h of hierarchies()) {
    try { for (const e of readdirSync(h)) if (e.startsWith(prefix)) names.add(`/${e}`); } catch { /* unreadable */ }
  }
  return [...names];
}
