// Kubeconfig files for the local control plane, one per client identity; all point at the loopback API server.
import { writeFileSync } from 'node:fs';
import type { Pki, ClientName } from './pki.js';

export function kubeconfigYaml(server: string, pki: Pki, client: ClientName): string {
  const c = pki.clients[client];
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: moe-local',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority: ${pki.caCert}`,
    'users:',
    `- name: ${client}`,
    '  user:',
    `    client-certificate: ${c.cert}`,
    `    client-key: ${c.key}`,
    'contexts:',
    '- name: moe-local',
    '  context:',
    '    cluster: moe-local',
    `    user: ${client}`,
    'current-context: moe-local',
    '',
  ].join('\n');
}

export function writeKubeconfig(path: string, server: string, pki: Pki, client: ClientName): string {
  writeFileSync(path, kubeconfigYaml(server, pki, client), { mode: 0o600 });
  return path;
}
