// Cluster services the real nodes need: kube-proxy (Service virtual IPs, `kubernetes.default` among them, as iptables
// rules inside the cluster's network namespace) and CoreDNS (per-pod DNS names of headless Services, which ranks use
// to find rank 0). Both run as processes in the namespace, one per cluster: the nodes share that namespace.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import type { Pki } from '../pki.js';
import { writeKubeconfig } from '../kubeconfig.js';
import { startComponent, type Component } from '../processes.js';
import { freePorts } from '../ports.js';
import { inNetns } from './network.js';

export async function startKubeProxy(stateDir: string, binDir: string, netns: string, server: string, pki: Pki,
  clusterCidr: string, hostname: string): Promise<Component> {
  const dir = join(stateDir, 'kube-proxy');
  mkdirSync(dir, { recursive: true });
  const kubeconfig = writeKubeconfig(join(dir, 'kubeconfig'), server, pki, 'kube-proxy');
  const [healthz, metrics] = await freePorts(2);
  const config = join(dir, 'config.yaml');
  writeFileSync(config, `apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: ${kubeconfig}}
mode: iptables
clusterCIDR: ${clusterCidr}
hostnameOverride: ${hostname}
healthzBindAddress: 127.0.0.1:${healthz}
metricsBindAddress: 127.0.0.1:${metrics}
# The conntrack table size is a machine-wide setting: leave it as this machine has it.
conntrack: {maxPerCore: 0}
`);
  const [cmd, args] = inNetns(netns, join(binDir, 'kube-proxy'), [`--config=${config}`, '--v=1']);
  return startComponent(stateDir, 'kube-proxy', cmd, args);
}

/** Read-only rights CoreDNS's kubernetes plugin needs, bound to the identity of its client certificate. */
async function corednsRbac(kc: KubeConfig): Promise<void> {
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  await rbac.createClusterRole({
    body: {
      metadata: { name: 'moe:coredns' },
      rules: [
        { apiGroups: [''], resources: ['endpoints', 'services', 'pods', 'namespaces'], verbs: ['list', 'watch'] },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
      ],
    },
  });
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name: 'moe:coredns' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'moe:coredns' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'moe:coredns' }],
    },
  });
}

/** CoreDNS answering for cluster.local on the nodes' address; nothing else is resolved (no upstream here). */
export async function startCoreDns(stateDir: string, binDir: string, netns: string, server: string, pki: Pki,
  kc: KubeConfig, listen: string): Promise<Component> {
  await corednsRbac(kc);
  const dir = join(stateDir, 'coredns');
  mkdirSync(dir, { recursive: true });
  const kubeconfig = writeKubeconfig(join(dir, 'kubeconfig'), server, pki, 'coredns');
  const [health] = await freePorts(1);
  const corefile = join(dir, 'Corefile');
  writeFileSync(corefile, `.:53 {
    bind ${listen}
    errors
    health 127.0.0.1:${health}
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig ${kubeconfig} moe-local
        pods verified
        fallthrough in-addr.arpa ip6.arpa
    }
    cache 5
}
`);
  const [cmd, args] = inNetns(netns, join(binDir, 'coredns'), ['-conf', corefile]);
  return startComponent(stateDir, 'coredns', cmd, args);
}
