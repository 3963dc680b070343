// Starts etcd, kube-apiserver, kube-scheduler and kube-controller-manager on loopback ports, with real TLS, RBAC and
// service-account signing, and waits for each to be healthy.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Pki } from './pki.js';
import { writeKubeconfig } from './kubeconfig.js';
import { freePorts } from './ports.js';
import { startComponent } from './processes.js';
import { adminTls, waitHealthy } from './health.js';

export interface ControlPlane {
  server: string;
  ports: { etcd: number; etcdPeer: number; apiserver: number; scheduler: number; controllerManager: number };
  kubeconfigs: { admin: string; kwok: string; runner: string };
}

const SERVICE_CIDR = '10.96.0.0/16';
const ISSUER = 'https://kubernetes.default.svc.cluster.local';

/** `address`: where the API server listens; loopback unless real nodes need it on their link (see node/network.ts). */
export async function startControlPlane(stateDir: string, binDir: string, pki: Pki, timeoutMs: number, address = '127.0.0.1'): Promise<ControlPlane> {
  const [etcd, etcdPeer, apiserver, scheduler, controllerManager] = await freePorts(5);
  const server = `https://${address}:${apiserver}`;
  const loopback = address.startsWith('127.');
  const kc = (name: Parameters<typeof writeKubeconfig>[3]) => writeKubeconfig(join(stateDir, `${name}.kubeconfig`), server, pki, name);
  const kubeconfigs = { admin: kc('admin'), kwok: kc('kwok'), runner: kc('runner') };
  const schedKc = kc('scheduler');
  const cmKc = kc('controller-manager');
  const bin = (n: string) => join(binDir, n);
  const dataDir = join(stateDir, 'etcd-data');
  mkdirSync(dataDir, { recursive: true });

  const etcdProc = startComponent(stateDir, 'etcd', bin('etcd'), [
    '--name=moe-local', `--data-dir=${dataDir}`,
    `--listen-client-urls=http://127.0.0.1:${etcd}`, `--advertise-client-urls=http://127.0.0.1:${etcd}`,
    `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`, `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
    `--initial-cluster=moe-local=http://127.0.0.1:${etcdPeer}`,
    // A throw-away test store: durability buys nothing and fsync costs seconds on busy disks.
    '--unsafe-no-fsync', '--log-level=warn',
  ]);
  await waitHealthy(etcdProc, `http://127.0.0.1:${etcd}/health`, {}, timeoutMs);

  const api = startComponent(stateDir, 'kube-apiserver', bin('kube-apiserver'), [
    `--etcd-servers=http://127.0.0.1:${etcd}`,
    `--bind-address=${address}`, `--advertise-address=${address}`, `--secure-port=${apiserver}`,
    // Endpoints may not hold loopback addresses: on loopback the apiserver does not publish itself as the `kubernetes`
    // Service; on the real nodes' link it does, and kube-proxy takes pods there.
    `--endpoint-reconciler-type=${loopback ? 'none' : 'lease'}`,
    // kubectl logs/exec: the apiserver calls kubelets with a client certificate they check against the cluster CA.
    `--kubelet-client-certificate=${pki.clients['kubelet-client'].cert}`, `--kubelet-client-key=${pki.clients['kubelet-client'].key}`,
    '--kubelet-preferred-address-types=InternalIP',
    `--tls-cert-file=${pki.serverCert}`, `--tls-private-key-file=${pki.serverKey}`, `--client-ca-file=${pki.caCert}`,
    '--authorization-mode=Node,RBAC',
    `--service-account-issuer=${ISSUER}`, `--api-audiences=${ISSUER}`,
    `--service-account-key-file=${pki.saPub}`, `--service-account-signing-key-file=${pki.saKey}`,
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    '--allow-privileged=true', '--profiling=false', `--cert-dir=${join(stateDir, 'apiserver-certs')}`,
  ]);
  await waitHealthy(api, `${server}/readyz`, adminTls(pki), timeoutMs);

  const common = (kubeconfig: string, port: number) => [
    `--kubeconfig=${kubeconfig}`, `--authentication-kubeconfig=${kubeconfig}`, `--authorization-kubeconfig=${kubeconfig}`,
    '--bind-address=127.0.0.1', `--secure-port=${port}`, '--leader-elect=false',
  ];
  const sched = startComponent(stateDir, 'kube-scheduler', bin('kube-scheduler'), [
    ...common(schedKc, scheduler), `--cert-dir=${join(stateDir, 'scheduler-certs')}`,
  ]);
  const cm = startComponent(stateDir, 'kube-controller-manager', bin('kube-controller-manager'), [
    ...common(cmKc, controllerManager), `--cert-dir=${join(stateDir, 'cm-certs')}`,
    '--use-service-account-credentials=true',
    `--service-account-private-key-file=${pki.saKey}`, `--root-ca-file=${pki.caCert}`,
    `--cluster-signing-cert-file=${pki.caCert}`, `--cluster-signing-key-file=${pki.caKey}`,
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    // The default 20 requests/s makes lifting the not-ready taint of a new 256-node fleet take about a minute.
    '--kube-api-qps=200', '--kube-api-burst=400',
  ]);
  const insecure = { rejectUnauthorized: false };
  await Promise.all([
    waitHealthy(sched, `https://127.0.0.1:${scheduler}/healthz`, insecure, timeoutMs),
    waitHealthy(cm, `https://127.0.0.1:${controllerManager}/healthz`, insecure, timeoutMs),
  ]);
  return { server, ports: { etcd, etcdPeer, apiserver, scheduler, controllerManager }, kubeconfigs };
}
