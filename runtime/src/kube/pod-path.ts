import path from 'node:path';

// Paths the container sees, on this machine. The local cluster's process runner (test/cluster/runner) runs a pod's
// container as a local process whose filesystem view is <pod dir>/root (MOE_POD_ROOT); in a real pod it is unset.

export function podPath(p: string, env: NodeJS.ProcessEnv = process.env): string {
  const root = env.MOE_POD_ROOT;
  return root && path.isAbsolute(p) && !p.startsWith(root) ? path.join(root, p) : p;
}
