// The real nodes' network: one network namespace per cluster, which the kubelets, containerd (and so every pod's
// network), kube-proxy and CoreDNS share. A veth pair joins it to this machine: the host end (10.201.X.1/30) is where
// the API server listens for the nodes, the namespace end (10.201.X.2) is every node's InternalIP. Pods live on one
// bridge per node (10.(192+X).<node>.0/24) inside the namespace, routed between bridges there. This machine gets one
// route, to the cluster's pod range through the veth, so that tests and the demo reach pods by their IPs as nodes of
// a real cluster do; the route goes away with the veth. The namespace has no default route: nothing in it reaches
// beyond this machine. Deleting the namespace removes all of it.
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

/** Clusters with real nodes at once on one machine: each gets its own link and pod range. */
const MAX_CLUSTERS = 8;

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

/** The X of 10.201.X.0/30 that no interface on this machine uses yet. Pod ranges 10.(192+X).0.0/16 stay clear of
 *  KWOK's make-believe pod addresses (10.128.0.0/10) and the Service range (10.96.0.0/16). */
function freeLinkOctet(): number {
  const used = new Set<number>();
  for (const m of sh('ip', ['-4', '-o', 'addr', 'show']).matchAll(/inet 10\.201\.(\d+)\./g)) used.add(Number(m[1]));
  for (let x = 1; x <= MAX_CLUSTERS; x++) if (!used.has(x)) return x;
  throw new Error(`${MAX_CLUSTERS} local clusters with real nodes are running already: stop one (make cluster-down NAME=...)`);
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
  const clusterCidr = `10.${192 + x}.0.0/16`;
  sh('ip', ['route', 'add', clusterCidr, 'via', nodeIp, 'dev', hostIf]);
  const [cmd, args] = inNetns(netns, 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
  sh(cmd, args);
  const podCidrs = Array.from({ length: nodes }, (_, i) => `10.${192 + x}.${i}.0/24`);
  return { netns, hostIp, nodeIp, hostIf, nsIf, podCidrs, clusterCidr };
}

/** Deletes the namespace (and with it the veth pair, the bridges and every rule inside). Idempotent. */
export function removeNetwork(netns: string, hostIf?: string): void {
  try { execFileSync('ip', ['netns', 'del', netns], { stdio: 'ignore' }); } catch { /* not there */ }
  if (hostIf) { try { execFileSync('ip', ['link', 'del', hostIf], { stdio: 'ignore' }); } catch { /* gone with the namespace */ } }
}
