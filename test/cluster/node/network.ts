// The real nodes' network: one network namespace per cluster, which the kubelets, containerd (and so every pod's
// network), kube-proxy and CoreDNS share. A veth pair joins it to this machine: the host end (10.201.X.1/30) is where
// the API server listens for the nodes, the namespace end (10.201.X.2) is every node's InternalIP. Pods live on one
// bridge per node (10.244.<node>.0/24) inside the namespace, routed between bridges there, and masqueraded behind
// the namespace end when they reach the API server, so this machine needs no route to them. Nothing here touches
// the host's routes or firewall: deleting the namespace removes all of it.
import { execFileSync } from 'node:child_process';

export interface NodeNetwork {
  /** Network namespace name (a file in /var/run/netns). */
  netns: string;
  /** Host end of the veth pair: the API server's address for nodes and pods. */
  hostIp: string;
  /** Namespace end: the nodes' InternalIP, where kubelets and CoreDNS listen. */
  nodeIp: string;
  hostIf: string;
  nsIf: string;
  /** Pod subnets, one per node. */
  podCidrs: string[];
  /** The cluster's pod range as kube-proxy sees it. */
  clusterCidr: string;
}

export const POD_RANGE = '10.244.0.0/16';

export function sh(cmd: string, args: string[], input?: string): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: string; code?: string };
    if (e.code === 'ENOENT') throw new Error(`${cmd} is not installed (real nodes need iproute2, iptables and the CNI plugins: see test/cluster/node/install-deps.sh)`);
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.stderr?.trim() || String(err)}`);
  }
}

/** Runs a command inside the namespace's network only (nsenter keeps this machine's mounts, unlike `ip netns exec`). */
export function inNetns(netns: string, cmd: string, args: string[]): [string, string[]] {
  return ['nsenter', [`--net=/var/run/netns/${netns}`, '--', cmd, ...args]];
}

/** The third octet X of 10.201.X.0/30 that no interface on this machine uses yet. */
function freeLinkOctet(): number {
  const used = new Set<number>();
  for (const m of sh('ip', ['-4', '-o', 'addr', 'show']).matchAll(/inet 10\.201\.(\d+)\./g)) used.add(Number(m[1]));
  for (let x = 1; x < 255; x++) if (!used.has(x)) return x;
  throw new Error('no free 10.201.X.0/30 link for a new cluster: stop other local clusters (make cluster-down)');
}

/** Short, interface-safe names (Linux allows 15 characters) derived from the cluster's state folder name. */
export function networkNames(cluster: string): { netns: string; hostIf: string; nsIf: string } {
  let h = 0;
  for (const ch of cluster) h = (Math.imul(h, 31) + ch.charCodeAt(0)) >>> 0;
  const tag = h.toString(36).slice(0, 6);
  return { netns: `moe-${cluster}`.slice(0, 60), hostIf: `moeh${tag}`, nsIf: `moen${tag}` };
}

export function createNetwork(cluster: string, nodes: number): NodeNetwork {
  const { netns, hostIf, nsIf } = networkNames(cluster);
  removeNetwork(netns, hostIf);
  const x = freeLinkOctet();
  const hostIp = `10.201.${x}.1`;
  const nodeIp = `10.201.${x}.2`;
  sh('ip', ['netns', 'add', netns]);
  const ns = (args: string[]) => sh('ip', ['-n', netns, ...args]);
  sh('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf]);
  sh('ip', ['link', 'set', nsIf, 'netns', netns]);
  sh('ip', ['addr', 'add', `${hostIp}/30`, 'dev', hostIf]);
  sh('ip', ['link', 'set', hostIf, 'up']);
  ns(['link', 'set', 'lo', 'up']);
  ns(['addr', 'add', `${nodeIp}/30`, 'dev', nsIf]);
  ns(['link', 'set', nsIf, 'up']);
  // No default route: from the namespace only the host end (the API server) is reachable, nothing beyond it.
  const [cmd, args] = inNetns(netns, 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
  sh(cmd, args);
  // Pods reach the host end under the namespace's own address: the host has no route to the pod bridges.
  const [ipt, iptArgs] = inNetns(netns, 'iptables', ['-t', 'nat', '-A', 'POSTROUTING', '-s', POD_RANGE, '-o', nsIf, '-j', 'MASQUERADE']);
  sh(ipt, iptArgs);
  const podCidrs = Array.from({ length: nodes }, (_, i) => `10.244.${i}.0/24`);
  return { netns, hostIp, nodeIp, hostIf, nsIf, podCidrs, clusterCidr: POD_RANGE };
}

/** Deletes the namespace (and with it the veth pair, the bridges and every rule inside). Idempotent. */
export function removeNetwork(netns: string, hostIf?: string): void {
  try { execFileSync('ip', ['netns', 'del', netns], { stdio: 'ignore' }); } catch { /* not there */ }
  if (hostIf) { try { execFileSync('ip', ['link', 'del', hostIf], { stdio: 'ignore' }); } catch { /* gone with the namespace */ } }
}
