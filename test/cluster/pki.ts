// Local PKI for the test control plane: one CA, the API server's serving certificate, client certificates for the
// admin and the control-plane components, and the service-account signing key pair. Made with the openssl CLI
// (Node can verify X.509 but not issue it). EC P-256 keys: fast to generate, accepted by every component.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Pki {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  saKey: string;
  saPub: string;
  clients: Record<ClientName, { cert: string; key: string }>;
}

export type ClientName = 'admin' | 'scheduler' | 'controller-manager' | 'kwok' | 'runner' | 'kubelet-client' | 'kube-proxy' | 'coredns';

// CN is the user name, O the groups, as the API server's x509 authenticator reads them.
const CLIENT_SUBJECTS: Record<ClientName, string> = {
  admin: '/CN=moe-admin/O=system:masters',
  scheduler: '/CN=system:kube-scheduler',
  'controller-manager': '/CN=system:kube-controller-manager',
  // KWOK and the process runner play kubelets: the simplest honest identity with the rights they need is an admin.
  kwok: '/CN=kwok/O=system:masters',
  runner: '/CN=moe-process-runner/O=system:masters',
  // The API server's identity towards kubelets (logs, exec, port-forward).
  'kubelet-client': '/CN=kube-apiserver-kubelet-client/O=system:masters',
  // Bound to its rights by the default ClusterRoleBinding system:node-proxier.
  'kube-proxy': '/CN=system:kube-proxy',
  // Bound by the ClusterRole the real nodes' set-up creates (node/services.ts).
  coredns: '/CN=moe:coredns',
};

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: Buffer; code?: string };
    if (e.code === 'ENOENT') throw new Error('openssl is not installed: the local cluster needs it to make its certificates (apt-get install openssl)');
    throw new Error(`openssl ${args[0]} failed: ${e.stderr?.toString() ?? String(err)}`);
  }
}

function ecKey(dir: string, name: string): void {
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', name], dir);
}

function signed(dir: string, name: string, subject: string, ext: string): void {
  ecKey(dir, `${name}.key`);
  openssl(['req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`], dir);
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
    '-days', '30', '-sha256', '-extfile', `${name}.ext`, '-out', `${name}.crt`], dir);
}

/** A client certificate for one more identity (a node's kubelet, kube-proxy, ...), made once under the PKI folder. */
export function clientCert(pki: Pki, file: string, subject: string): { cert: string; key: string } {
  const out = { cert: join(pki.dir, `${file}.crt`), key: join(pki.dir, `${file}.key`) };
  if (!existsSync(out.cert)) signed(pki.dir, file, subject, 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n');
  return out;
}

/** A serving certificate for one more loopback server (an admission webhook the API server calls), made once. */
export function webhookCert(pki: Pki, file: string, subject: string, ips: string[] = ['127.0.0.1']): { cert: string; key: string } {
  const out = { cert: join(pki.dir, `${file}.crt`), key: join(pki.dir, `${file}.key`) };
  if (!existsSync(out.cert)) {
    signed(pki.dir, file, subject, 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' +
      `subjectAltName=${[...ips.map((ip) => `IP:${ip}`), 'DNS:localhost'].join(',')}\n`);
  }
  return out;
}

/** Creates (or reuses, when complete) the certificates under `dir`; `serverIps` are extra addresses the API server
 *  is reached at (the real nodes' link), named in its certificate beside loopback. */
export function ensurePki(dir: string, serverIps: string[] = []): Pki {
  mkdirSync(dir, { recursive: true });
  const pki: Pki = {
    dir,
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    serverCert: join(dir, 'apiserver.crt'),
    serverKey: join(dir, 'apiserver.key'),
    saKey: join(dir, 'sa.key'),
    saPub: join(dir, 'sa.pub'),
    clients: Object.fromEntries(
      (Object.keys(CLIENT_SUBJECTS) as ClientName[]).map((c) => [c, { cert: join(dir, `${c}.crt`), key: join(dir, `${c}.key`) }]),
    ) as Pki['clients'],
  };
  const all = [pki.caCert, pki.serverCert, pki.saKey, pki.saPub, ...Object.values(pki.clients).map((c) => c.cert)];
  if (all.every((f) => existsSync(f))) return pki;

  ecKey(dir, 'ca.key');
  openssl(['req', '-x509', '-new', '-key', 'ca.key', '-subj', '/CN=moe-local-ca', '-days', '30', '-sha256', '-out', 'ca.crt'], dir);
  signed(dir, 'apiserver', '/CN=kube-apiserver',
    'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' +
    `subjectAltName=IP:127.0.0.1,IP:10.96.0.1,${serverIps.map((ip) => `IP:${ip},`).join('')}DNS:localhost,DNS:kubernetes,` +
    'DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\n');
  for (const [name, subject] of Object.entries(CLIENT_SUBJECTS)) {
    signed(dir, name, subject, 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n');
  }
  ecKey(dir, 'sa.key');
  openssl(['ec', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], dir);
  return pki;
}
