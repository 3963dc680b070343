// One containerd per real node (kubelets on one machine must not share a runtime: each would kill the other's pods as
// unknown), running in the cluster's network namespace so that the CNI bridge plugin builds pod networks there.
// Runc and the CNI reference plugins come from Debian; containerd itself is built by test/cluster/build.sh.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { isAlive, startComponent, tailLog, type Component } from '../processes.js';
import { inNetns } from './network.js';
import { PAUSE_IMAGE } from './pause-image.js';

const run = promisify(execFile);
export const CNI_BIN_DIR = '/usr/lib/cni';
export const RUNC = '/usr/sbin/runc';

export interface NodeRuntime {
  socket: string;
  component: Component;
}

function configToml(dir: string, socket: string, cniConfDir: string): string {
  return `version = 3
root = "${join(dir, 'root')}"
state = "${join(dir, 'state')}"
# Snapshotters and services that need hardware or kernel features this machine lacks, or files outside the node.
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.blockfile", "io.containerd.nri.v1.nri",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "${socket}"
[ttrpc]
  address = "${socket}.ttrpc"

[plugins.'io.containerd.cri.v1.images']
  snapshotter = "overlayfs"
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = "${PAUSE_IMAGE}"

[plugins.'io.containerd.cri.v1.runtime']
  # Pod network namespaces live under the node's state folder, so that removing the node removes them.
  netns_mounts_under_state_dir = true
  # This machine refuses to lower any process's OOM score, even for root; the kubelet asks for -998 for sandboxes.
  restrict_oom_score_adj = true
  [plugins.'io.containerd.cri.v1.runtime'.containerd]
    default_runtime_name = "runc"
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
        BinaryName = "${RUNC}"
        Root = "${join(dir, 'runc')}"
        SystemdCgroup = false
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = ["${CNI_BIN_DIR}"]
    conf_dir = "${cniConfDir}"

[plugins.'io.containerd.grpc.v1.cri']
  stream_server_address = "127.0.0.1"
`;
}

/** The node's pod network: a bridge of its own with the node's pod subnet, addresses from host-local. */
function cniConflist(node: string, index: number, podCidr: string, ipamDir: string): string {
  return JSON.stringify({
    cniVersion: '1.0.0',
    name: `moe-${node}`,
    plugins: [
      {
        type: 'bridge', bridge: `moebr${index}`, isGateway: true, ipMasq: false, hairpinMode: true,
        ipam: { type: 'host-local', ranges: [[{ subnet: podCidr }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: ipamDir },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  }, null, 2);
}

export function checkNodePrereqs(): void {
  const missing = [RUNC, join(CNI_BIN_DIR, 'bridge'), join(CNI_BIN_DIR, 'host-local'), join(CNI_BIN_DIR, 'loopback'), '/usr/bin/nsenter']
    .filter((f) => !existsSync(f));
  if (missing.length) {
    throw new Error(`real nodes need ${missing.join(', ')}: run \`bash test/cluster/node/install-deps.sh\` (Debian packages runc, containernetworking-plugins, iptables, conntrack, util-linux)`);
  }
}

export async function startContainerd(stateDir: string, binDir: string, netns: string, node: string, index: number, podCidr: string): Promise<NodeRuntime> {
  const dir = join(stateDir, 'nodes', node, 'containerd');
  const cniConf = join(stateDir, 'nodes', node, 'cni', 'net.d');
  mkdirSync(dir, { recursive: true });
  mkdirSync(cniConf, { recursive: true });
  const socket = join(dir, 'containerd.sock');
  const config = join(dir, 'config.toml');
  writeFileSync(config, configToml(dir, socket, cniConf));
  writeFileSync(join(cniConf, '10-moe.conflist'), cniConflist(node, index, podCidr, join(stateDir, 'nodes', node, 'cni', 'ipam')));
  const [cmd, args] = inNetns(netns, join(binDir, 'containerd'), ['--config', config]);
  // The shim is found on PATH, next to containerd.
  const component = startComponent(stateDir, `containerd-${node}`, cmd, args, { PATH: `${binDir}:${process.env.PATH ?? ''}` });
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (!isAlive(component.pid)) throw new Error(`containerd for ${node} exited; last log lines (${component.log}):\n${tailLog(component.log)}`);
    try {
      await ctr(binDir, socket, ['version']);
      return { socket, component };
    } catch { await sleep(200); }
  }
  throw new Error(`containerd for ${node} did not answer on ${socket} within 30 s; log: ${component.log}`);
}

export async function ctr(binDir: string, socket: string, args: string[]): Promise<string> {
  try {
    return (await run(join(binDir, 'ctr'), ['--address', socket, '--namespace', 'k8s.io', ...args], { maxBuffer: 16 << 20 })).stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`ctr ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
  }
}

/** Loads an OCI archive straight into the node's image store (no registry), under the name it carries. */
export async function importImage(binDir: string, rt: NodeRuntime, archive: string, baseName?: string): Promise<void> {
  await ctr(binDir, rt.socket, ['images', 'import', ...(baseName ? ['--base-name', baseName] : []), archive]);
}
