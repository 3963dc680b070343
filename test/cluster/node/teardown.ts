// Removes everything real nodes leave outside their state folder: container processes (by cgroup), runtime shims
// (which outlive containerd by design), mounts (overlay root file systems, volumes, netns bind mounts), the network
// namespace, and the kubelet's log links in /var/log/containers. Synchronous, so that process 'exit' handlers and
// the sweep after a killed run can use it; every step tolerates what is already gone.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { killCgroupRoot } from './cgroups.js';
import { removeNetwork } from './network.js';

export interface NodesRecord {
  netns: string;
  hostIf: string;
  cgroupRoots: string[];
  sockets: string[];
}

const RECORD = 'real-nodes.json';

export function writeNodesRecord(stateDir: string, r: NodesRecord): void {
  writeFileSync(join(stateDir, RECORD), JSON.stringify(r, null, 2));
}

export function readNodesRecord(stateDir: string): NodesRecord | undefined {
  const f = join(stateDir, RECORD);
  return existsSync(f) ? JSON.parse(readFileSync(f, 'utf8')) as NodesRecord : undefined;
}

/** Processes whose command line names one of the sockets: containerd's shims are started with `-address <socket>`. */
function shimPids(sockets: string[]): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const argv = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      if (sockets.some((s) => argv.includes(s))) out.push(Number(d));
    } catch { /* exited */ }
  }
  return out;
}

/** Mount points at or below `dir`, deepest first. */
function mountsUnder(dir: string): string[] {
  const points = readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
    .map((l) => l.split(' ')[4]?.replace(/\\040/g, ' '))
    .filter((p): p is string => !!p && (p === dir || p.startsWith(`${dir}/`)));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

export function unmountUnder(dir: string): void {
  for (let round = 0; round < 3; round++) {
    const points = mountsUnder(dir);
    if (!points.length) return;
    for (const p of points) { try { execFileSync('umount', ['-l', p], { stdio: 'ignore' }); } catch { /* already gone */ } }
  }
}

function removeContainerLogLinks(stateDir: string): void {
  const dir = '/var/log/containers';
  if (!existsSync(dir)) return;
  for (const f of readdirSync(dir)) {
    try { if (readlinkSync(join(dir, f)).startsWith(stateDir)) rmSync(join(dir, f), { force: true }); } catch { /* not a link */ }
  }
}

/** Tears the real nodes of the cluster in `stateDir` down. Call after its components (kubelets first) are stopped. */
export function teardownNodes(stateDir: string): void {
  const r = readNodesRecord(stateDir);
  if (!r) return;
  for (const root of r.cgroupRoots) killCgroupRoot(root);
  for (const pid of shimPids(r.sockets)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  unmountUnder(stateDir);
  removeNetwork(r.netns, r.hostIf);
  removeContainerLogLinks(stateDir);
  rmSync(join(stateDir, RECORD), { force: true });
}
