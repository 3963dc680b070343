// Where a local cluster keeps its state, and clean-up of clusters whose owner died without stopping them.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAlive, stopAll } from './processes.js';
import { teardownNodes } from './node/teardown.js';
import { cgroupRootsWithPrefix, killCgroupRoot } from './node/cgroups.js';
import { removeNetwork } from './node/network.js';

export function stateRoot(): string {
  return process.env.MOE_CLUSTER_STATE ?? join(tmpdir(), 'moe-cluster');
}

/** owner: the pid of the process whose exit ends the cluster, or 'cli' for a cluster started by `cluster up`. */
export function writeOwner(stateDir: string, owner: number | 'cli'): void {
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(join(stateDir, 'owner'), String(owner));
}

function ownerOf(stateDir: string): number | 'cli' | undefined {
  const f = join(stateDir, 'owner');
  if (!existsSync(f)) return undefined;
  const v = readFileSync(f, 'utf8').trim();
  return v === 'cli' ? 'cli' : Number(v);
}

/** Stops and removes a cluster's state folder (processes first, kubelets before their runtimes; then what real nodes
 *  left outside the folder: containers, shims, mounts, the network namespace). */
export async function removeCluster(stateDir: string): Promise<void> {
  await stopAll(stateDir, 3000);
  teardownNodes(stateDir);
  rmSync(stateDir, { recursive: true, force: true });
}

/** Network namespaces and cgroup roots of real nodes whose cluster folder is gone (removed by hand, or a crash
 *  between creating them and recording them). */
function sweepOrphans(root: string): void {
  const netnsDir = '/var/run/netns';
  if (existsSync(netnsDir)) {
    for (const ns of readdirSync(netnsDir)) {
      if (ns.startsWith('moe-') && !existsSync(join(root, ns.slice(4)))) removeNetwork(ns);
    }
  }
  for (const cg of cgroupRootsWithPrefix('moe-')) {
    const cluster = /^\/moe-(.+)-node-\d+$/.exec(cg)?.[1];
    if (cluster && !existsSync(join(root, cluster))) killCgroupRoot(cg);
  }
}

/** Stops leftovers of test runs that were killed: clusters owned by a process that no longer exists. */
export async function sweepStale(root = stateRoot()): Promise<string[]> {
  sweepOrphans(root);
  if (!existsSync(root)) return [];
  const removed: string[] = [];
  for (const name of readdirSync(root)) {
    const dir = join(root, name);
    const owner = ownerOf(dir);
    if (owner === 'cli') continue;
    if (owner === undefined || !isAlive(owner)) {
      await removeCluster(dir);
      removed.push(name);
    }
  }
  return removed;
}
