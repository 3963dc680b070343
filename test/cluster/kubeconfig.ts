// Kubeconfig files for the local control plane, one per client identity; all point at the loopback API server.
import { writeFileSync } from 'node:fs';
import type { Pki, ClientName } from './pki.js';

export function kubeconfigYaml(server: string, pki: Pki, client: ClientName | { name: string; cert: string; key: string }): string {
  const c = typeof client === 'string' ? { name: client, ...pki.clients[client] } : client;
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: moe-local',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority: ${pki.caCert}`,
    'users:',
    `- name: ${c.name}`,
    '  user:',
    `    client-certificate: ${c.cert}`,
    `    client-key: ${c.key}`,
    'contexts:',
    '- name: moe-local',
    '  context:',
    '    cluster: moe-local',
    `    user: ${c.name}`,
    'current-context: moe-local',
    '',
  ].join('\n');
}

export function writeKubeconfig(path: string, server: string, pki: Pki, client: Parameters<typeof kubeconfigYaml>[2]): string {
  writeFileSync(path, kubeconfigYaml(server, pki, client), { mode: 0o600 });
  return path;
}
