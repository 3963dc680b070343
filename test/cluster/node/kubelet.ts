// A real kubelet (the control plane's version) per node, in the cluster's network namespace, with its own root folder,
// cgroup root and ports so that several run side by side on this machine. This machine mounts cgroup v1, which the
// kubelet of 1.35+ accepts only with failCgroupV1: false.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pki } from '../pki.js';
import { clientCert } from '../pki.js';
import { writeKubeconfig } from '../kubeconfig.js';
import { startComponent, type Component } from '../processes.js';
import { inNetns } from './network.js';
import { ensureCgroupRoot } from './cgroups.js';

export interface KubeletSpec {
  node: string;
  nodeIp: string;
  podCidr: string;
  port: number;
  healthzPort: number;
  runtimeSocket: string;
  clusterDns: string;
  labels: Record<string, string>;
  /** Cgroup under which this node's pods live (one per node and cluster). */
  cgroupRoot: string;
}

function configYaml(s: KubeletSpec, pki: Pki, dir: string): string {
  return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: ${s.nodeIp}
port: ${s.port}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: ${s.healthzPort}
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: ${pki.caCert}}
authorization: {mode: Webhook}
cgroupDriver: cgroupfs
cgroupRoot: ${s.cgroupRoot}
cgroupsPerQOS: true
enforceNodeAllocatable: [pods]
failCgroupV1: false
failSwapOn: false
containerRuntimeEndpoint: unix://${s.runtimeSocket}
clusterDNS: [${s.clusterDns}]
clusterDomain: cluster.local
podCIDR: ${s.podCidr}
podLogsDir: ${join(dir, 'pod-logs')}
serializeImagePulls: false
# A shared development disk: evict only when it is really full, and never collect the images loaded at start.
evictionHard: {memory.available: 100Mi, nodefs.available: 2%, imagefs.available: 2%}
imageGCHighThresholdPercent: 99
imageGCLowThresholdPercent: 98
maxPods: 110
rotateCertificates: false
serverTLSBootstrap: false
shutdownGracePeriod: 0s
syncFrequency: 10s
fileCheckFrequency: 0s
`;
}

export function startKubelet(stateDir: string, binDir: string, netns: string, server: string, pki: Pki, s: KubeletSpec): Component {
  const dir = join(stateDir, 'nodes', s.node, 'kubelet');
  mkdirSync(join(dir, 'pod-logs'), { recursive: true });
  const config = join(dir, 'config.yaml');
  writeFileSync(config, configYaml(s, pki, dir));
  // The Node authorizer and NodeRestriction admission know a kubelet by this identity.
  const cert = clientCert(pki, `node-${s.node}`, `/CN=system:node:${s.node}/O=system:nodes`);
  const kubeconfig = writeKubeconfig(join(dir, 'kubeconfig'), server, pki, { name: `system:node:${s.node}`, ...cert });
  ensureCgroupRoot(s.cgroupRoot);
  const labels = Object.entries(s.labels).map(([k, v]) => `${k}=${v}`).join(',');
  const [cmd, args] = inNetns(netns, join(binDir, 'kubelet'), [
    `--config=${config}`, `--kubeconfig=${kubeconfig}`, `--root-dir=${join(dir, 'root')}`, `--cert-dir=${join(dir, 'pki')}`,
    `--hostname-override=${s.node}`, `--node-ip=${s.nodeIp}`, `--node-labels=${labels}`, '--v=1',
  ]);
  return startComponent(stateDir, `kubelet-${s.node}`, cmd, args);
}
