// Real nodes for the local cluster: per node a containerd and a kubelet of the control plane's version; per cluster a
// network namespace, kube-proxy and CoreDNS. Images are loaded into each node's containerd from OCI archives (no
// registry). Once a node registers, the harness adds the GPUs it pretends to have as extended resources, as a
// device plugin would (the pods run on CPUs).
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions, type V1Node } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Pki } from '../pki.js';
import type { Component } from '../processes.js';
import { isAlive, tailLog } from '../processes.js';
import { freePorts } from '../ports.js';
import { GPU_RESOURCE, IB_RESOURCE, LABEL_LEAF, LABEL_NVLINK_DOMAIN, LABEL_SPINE } from '../../../operator/plan/labels.js';
import { checkNodePrereqs, importImage, startContainerd, type NodeRuntime } from './containerd.js';
import { startKubelet } from './kubelet.js';
import { startCoreDns, startKubeProxy } from './services.js';
import { pauseImage } from './pause-image.js';
import { writeNodesRecord } from './teardown.js';
import type { NodeNetwork } from './network.js';

export const LABEL_REAL_NODE = 'moe.io/real-node';

export interface RealNodesOptions {
  count: number;
  /** OCI archives to load into every node (e.g. from `make images`). */
  images: string[];
}

export interface RealNodes {
  names: string[];
  components: Component[];
}

export function realNodeNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `node-${i}`);
}

/** Starts the nodes' runtimes, kubelets, kube-proxy and CoreDNS; returns without waiting for Ready. */
export async function startRealNodes(stateDir: string, binDir: string, pki: Pki, server: string, net: NodeNetwork,
  kc: KubeConfig, opts: RealNodesOptions): Promise<RealNodes> {
  checkNodePrereqs();
  const names = realNodeNames(opts.count);
  const tag = stateDir.split('/').pop()!;
  const cgroupRoots = names.map((n) => `/moe-${tag}-${n}`);
  const runtimes: NodeRuntime[] = [];
  writeNodesRecord(stateDir, { netns: net.netns, hostIf: net.hostIf, cgroupRoots, sockets: [] });
  const pause = pauseImage();
  for (const [i, node] of names.entries()) {
    const rt = await startContainerd(stateDir, binDir, net.netns, node, i, net.podCidrs[i]!);
    runtimes.push(rt);
    writeNodesRecord(stateDir, { netns: net.netns, hostIf: net.hostIf, cgroupRoots, sockets: runtimes.map((r) => r.socket) });
  }
  // Images load into every node at once: import is mostly disk work.
  await Promise.all(runtimes.map(async (rt) => {
    await importImage(binDir, rt, pause, 'moe.local/pause');
    for (const archive of opts.images) await importImage(binDir, rt, archive);
  }));
  const components: Component[] = runtimes.map((r) => r.component);
  const ports = await freePorts(2 * names.length);
  for (const [i, node] of names.entries()) {
    components.push(startKubelet(stateDir, binDir, net.netns, server, pki, {
      node, nodeIp: net.nodeIp, podCidr: net.podCidrs[i]!, port: ports[2 * i]!, healthzPort: ports[2 * i + 1]!,
      runtimeSocket: runtimes[i]!.socket, clusterDns: net.nodeIp, cgroupRoot: cgroupRoots[i]!,
      labels: {
        [LABEL_NVLINK_DOMAIN]: node, [LABEL_LEAF]: 'real-leaf', [LABEL_SPINE]: 'real-spine', [LABEL_REAL_NODE]: 'true',
      },
    }));
  }
  components.push(await startKubeProxy(stateDir, binDir, net.netns, server, pki, net.clusterCidr, names[0]!));
  components.push(await startCoreDns(stateDir, binDir, net.netns, server, pki, kc, net.nodeIp));
  return { names, components };
}

/** Adds the pretend GPUs (and RDMA devices) to each real node's capacity once the kubelet has registered it. */
export async function advertiseGpus(kc: KubeConfig, names: string[], gpus: number, timeoutMs: number, components: Component[]): Promise<void> {
  const api = kc.makeApiClient(CoreV1Api);
  const patch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);
  const deadline = Date.now() + timeoutMs;
  for (const name of names) {
    let node: V1Node | undefined;
    while (!node) {
      const dead = components.find((c) => !isAlive(c.pid));
      if (dead) throw new Error(`${dead.name} exited; last log lines (${dead.log}):\n${tailLog(dead.log)}`);
      try { node = await api.readNode({ name }); } catch {
        if (Date.now() > deadline) throw new Error(`kubelet ${name} did not register within ${timeoutMs} ms; log: ${join('logs', `kubelet-${name}.log`)}`);
        await sleep(250);
      }
    }
    // Allocatable too: the kubelet copies extended resources from capacity only at its next status update (up to
    // 10 s later), and the scheduler and the planner read allocatable. Patched until both fields hold them, in case
    // a status update the kubelet was sending at the same moment replaced ours.
    const ops = [GPU_RESOURCE, IB_RESOURCE].flatMap((r) => ['capacity', 'allocatable'].map((field) => ({
      op: 'add', path: `/status/${field}/${r.replace('/', '~1')}`, value: String(gpus),
    })));
    const has = (m: Record<string, string> | undefined) => m?.[GPU_RESOURCE] === String(gpus) && m?.[IB_RESOURCE] === String(gpus);
    while (!has(node.status?.capacity) || !has(node.status?.allocatable)) {
      if (Date.now() > deadline) throw new Error(`node ${name} does not keep ${gpus} ${GPU_RESOURCE} in capacity and allocatable`);
      await api.patchNodeStatus({ name, body: ops }, patch);
      await sleep(250);
      node = await api.readNode({ name });
    }
  }
}
