// Name resolution for the ranks' addresses: IP literals as they are; names through the hosts file in
// $MOE_HOSTS_FILE when there is one (the local cluster's runner writes pod DNS names there), else left to the
// system resolver. Gloo's C++ side resolves with getaddrinfo, so it gets the address, never a name only we know.
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';

/** Pure: the address of `name` in hosts-file text ("ip name [aliases…]" lines, '#' comments). */
export function lookupHosts(text: string, name: string): string | undefined {
  const want = name.replace(/\.$/, '');
  for (const line of text.split('\n')) {
    const fields = line.replace(/#.*/, '').trim().split(/\s+/);
    if (fields.length < 2) continue;
    if (fields.slice(1).some((n) => n.replace(/\.$/, '') === want)) return fields[0];
  }
  return undefined;
}

export function resolveHost(name: string, env: NodeJS.ProcessEnv = process.env): string {
  if (net.isIP(name)) return name;
  const file = env.MOE_HOSTS_FILE;
  if (file && existsSync(file)) {
    const ip = lookupHosts(readFileSync(file, 'utf8'), name);
    if (ip) return ip;
  }
  return name;
}

/**
 * resolveHost, waiting up to `timeoutMs` for a name that is not in the hosts file yet: the local cluster's runner adds
 * a pod's name when it starts that pod, and rank 0's pod may start after the others. Without a hosts file (a real
 * cluster, where DNS answers) this is resolveHost. On time-out the name comes back unchanged, and connecting reports.
 */
export async function resolveHostWhenListed(name: string, timeoutMs: number, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ip = resolveHost(name, env);
    if (ip !== name || !env.MOE_HOSTS_FILE || Date.now() >= deadline) return ip;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The contract's rank-0 and own addresses made dialable: MASTER_ADDR waited for in the hosts file, own address resolved. */
export async function resolveDistAddresses<T extends { masterAddr: string; hostAddr: string }>(env: T, timeoutMs: number,
  procEnv: NodeJS.ProcessEnv = process.env): Promise<T> {
  return { ...env, masterAddr: await resolveHostWhenListed(env.masterAddr, timeoutMs, procEnv), hostAddr: resolveHost(env.hostAddr, procEnv) };
}
