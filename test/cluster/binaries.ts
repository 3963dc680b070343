// Finds the control-plane binaries: $MOE_CLUSTER_BIN when set (the Makefile sets it), else builds or reuses the
// cache through test/cluster/build.sh, which prints the bin folder on its last line.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const TOOLS = ['etcd', 'kube-apiserver', 'kube-scheduler', 'kube-controller-manager', 'kubectl', 'kwok', 'helm',
  'kubelet', 'kube-proxy', 'containerd', 'containerd-shim-runc-v2', 'ctr', 'coredns'] as const;

/** The repository root, from this file's place in the tree (test/cluster or dist/test/cluster). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the repository root (package.json) above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
  return dir;
}

export function findBinaries(explicit?: string): string {
  let dir = explicit ?? process.env.MOE_CLUSTER_BIN;
  if (!dir) {
    const script = join(repoRoot(), 'test', 'cluster', 'build.sh');
    const out = execFileSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    dir = out.trim().split('\n').pop() ?? '';
  }
  dir = resolve(dir);
  const missing = TOOLS.filter((t) => !existsSync(join(dir!, t)));
  if (missing.length) {
    throw new Error(`control-plane binaries missing in ${dir}: ${missing.join(', ')}; run \`make cluster-bin\` (or unset MOE_CLUSTER_BIN)`);
  }
  return dir;
}
