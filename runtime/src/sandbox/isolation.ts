// Which isolation this machine can give a candidate program (I/O: probes util-linux's `unshare` and `prlimit` once per
// process and caches the answer). Network: a new, empty network namespace (only a loopback that is down) through
// `unshare --net` (needs CAP_SYS_ADMIN, e.g. root), else `unshare --user --map-root-user --net` (unprivileged user
// namespaces, when the kernel and the pod's seccomp profile allow them), else none — never silently: `describe`
// names what was applied and the caller logs and reports it. Limits: `prlimit` (address space, CPU time, file size),
// else `ulimit -v -t -f` through `sh -c`.
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

export type NetworkIsolation = 'netns' | 'userns-netns' | 'none';
export type LimitTool = 'prlimit' | 'ulimit';

export interface Isolation {
  network: NetworkIsolation;
  limits: LimitTool;
  /** The command prefix that applies the network isolation (empty for none), by absolute path. */
  networkPrefix: string[];
  /** Absolute path of prlimit (limits 'prlimit') or sh (limits 'ulimit'). */
  limitTool: string;
}

/** The executable `name` in the directories of `pathVar`, or undefined. */
export function onPath(name: string, pathVar: string): string | undefined {
  for (const dir of pathVar.split(':')) {
    if (!dir) continue;
    const f = path.join(dir, name);
    try {
      accessSync(f, constants.X_OK);
      return f;
    } catch {
      // not here
    }
  }
  return undefined;
}

let cached: Isolation | undefined;

const works = (cmd: string | undefined, args: string[]): boolean =>
  cmd !== undefined && spawnSync(cmd, args, { stdio: 'ignore', timeout: 5000, env: {} }).status === 0;

/** The isolation available here (probed once). MOE_SANDBOX_NETWORK=none turns the namespace off on purpose (reported). */
export function detectIsolation(env: NodeJS.ProcessEnv = process.env): Isolation {
  if (cached && !env.MOE_SANDBOX_NETWORK) return cached;
  const search = `${env.PATH ?? ''}:/usr/bin:/bin:/usr/sbin:/sbin`;
  const unshare = onPath('unshare', search);
  const yes = onPath('true', search) ?? '/bin/true';
  let network: NetworkIsolation = 'none';
  let networkPrefix: string[] = [];
  if (env.MOE_SANDBOX_NETWORK !== 'none') {
    if (works(unshare, ['--net', yes])) {
      network = 'netns';
      networkPrefix = [unshare!, '--net'];
    } else if (works(unshare, ['--user', '--map-root-user', '--net', yes])) {
      network = 'userns-netns';
      networkPrefix = [unshare!, '--user', '--map-root-user', '--net'];
    }
  }
  const prlimit = onPath('prlimit', search);
  const limits: LimitTool = works(prlimit, ['--cpu=10', '--', yes]) ? 'prlimit' : 'ulimit';
  const iso: Isolation = { network, limits, networkPrefix, limitTool: limits === 'prlimit' ? prlimit! : onPath('sh', search) ?? '/bin/sh' };
  if (!env.MOE_SANDBOX_NETWORK) cached = iso;
  return iso;
}

/** The `isolation` string a report carries, e.g. "network=netns limits=prlimit". */
export const describeIsolation = (i: Isolation): string => `network=${i.network} limits=${i.limits}`;
