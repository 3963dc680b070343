// Kueue on the local cluster: its controller-manager (built from the Go module proxy by build.sh, test/cluster/tools-kueue)
// runs as a host process beside the control plane, with its own CRDs, webhook configurations and ClusterRole from its
// release's config/ (copied to <bin>/kueue-config by build.sh). Its internal cert manager is off: the webhook serves
// on loopback with a certificate of the cluster's CA, and every webhook configuration (and the CRDs' conversion
// webhook) points at that URL instead of an in-cluster Service. Only the plain-pod integration is enabled: the
// operator's pods are pod groups (see operator/controllers/mtj/kueue.ts).
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import type { LocalCluster } from './index.js';
import { writeKubeconfig } from './kubeconfig.js';
import { clientCert, ensurePki, webhookCert } from './pki.js';
import { freePorts } from './ports.js';
import { startComponent, stopPid, type Component } from './processes.js';
import { waitHealthy } from './health.js';
import { eventually } from '../util/poll.js';

/** Kueue's identity towards the API server, bound to the ClusterRole and Roles of its release (config/components/rbac). */
const KUEUE_USER = 'moe:kueue-controller-manager';
const KUEUE_NAMESPACE = 'kueue-system';
/** Kueue v0.17 reads its metrics serving certificate from this fixed path whenever its internal cert manager is off. */
export const KUEUE_METRICS_CERT_DIR = '/etc/kueue/metrics/certs';
/** The conversion webhook of these CRDs, as Kueue's config/components/crd/kustomization.yaml patches them. */
const CONVERTED_CRDS = ['localqueues', 'clusterqueues', 'cohorts', 'workloads', 'multikueueclusters'];
/** The namespaces Kueue's webhook kustomization keeps away from its pod, deployment and statefulset webhooks. */
const EXCLUDED_NAMESPACES = ['kube-system', KUEUE_NAMESPACE];
const NAMESPACED_WEBHOOKS = new Set(['mpod.kb.io', 'mdeployment.kb.io', 'mstatefulset.kb.io', 'vpod.kb.io', 'vdeployment.kb.io', 'vstatefulset.kb.io']);

export interface KueueOptions {
  /** Kueue integrations (Configuration.integrations.frameworks); the operator needs only "pod". */
  frameworks?: string[];
  timeoutMs?: number;
}

export interface RunningKueue {
  component: Component;
  webhookUrl: string;
  version: string;
  stop(): Promise<void>;
}

/** The Kueue binary and manifests build.sh linked into the bin folder, or an error that says how to get them. */
export function kueueInstall(binDir: string): { binary: string; config: string; version: string } {
  const binary = join(binDir, 'kueue');
  const config = join(binDir, 'kueue-config');
  if (!existsSync(binary) || !existsSync(join(config, 'webhook', 'manifests.yaml'))) {
    throw new Error(`Kueue is not built in ${binDir} (no kueue / kueue-config there): run \`make cluster-bin\` or \`bash test/cluster/build.sh\`, which builds it from test/cluster/tools-kueue`);
  }
  // The cache folder is named kueue-<version>-<sum> (build.sh).
  const version = /kueue-(v[^-/]+(?:-[a-z0-9.]+)?)-[0-9a-f]{12}\//.exec(realpathSync(binary))?.[1] ?? 'unknown';
  return { binary, config, version };
}

/** The metrics certificate at Kueue's fixed path: made once (self-signed, loopback) when absent; never overwritten.
 *  Key and certificate are made in a folder of their own and moved into place together (rename(2) of a folder onto
 *  an absent or empty one), so concurrent test processes never pair one's key with another's certificate. */
function ensureMetricsCert(): void {
  const ready = () => existsSync(join(KUEUE_METRICS_CERT_DIR, 'tls.crt')) && existsSync(join(KUEUE_METRICS_CERT_DIR, 'tls.key'));
  if (ready()) return;
  const tmp = `${KUEUE_METRICS_CERT_DIR}.new-${process.pid}`;
  try {
    mkdirSync(tmp, { recursive: true });
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '3650',
      '-subj', '/CN=kueue-metrics', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(tmp, 'tls.key'), '-out', join(tmp, 'tls.crt')], { stdio: 'ignore' });
    try {
      renameSync(tmp, KUEUE_METRICS_CERT_DIR);
    } catch (err) {
      if (!ready()) throw err; // another process won the race: its pair is in place
    }
  } catch (err) {
    throw new Error(`Kueue needs a serving certificate at ${KUEUE_METRICS_CERT_DIR}/tls.crt and tls.key (a fixed path in Kueue's main.go when its internal cert manager is off) and this process could not write it (${(err as Error).message}); run the tests as root or create them once: sudo mkdir -p ${KUEUE_METRICS_CERT_DIR} && sudo openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=kueue-metrics -keyout ${KUEUE_METRICS_CERT_DIR}/tls.key -out ${KUEUE_METRICS_CERT_DIR}/tls.crt`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function readDocs(file: string): any[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJSON()).filter((d) => d && typeof d === 'object');
}

/** Kueue's manifests with every webhook client pointed at `url` (CA bundle: the cluster CA); pure. */
export function kueueManifests(configDir: string, url: string, caPem: string): { crds: any[]; webhooks: any[]; rbac: any[] } {
  const caBundle = Buffer.from(caPem).toString('base64');
  const crdDir = join(configDir, 'crd');
  const crds = readdirSync(crdDir).filter((f) => f.endsWith('.yaml')).sort().flatMap((f) => readDocs(join(crdDir, f)));
  for (const crd of crds) {
    if (!CONVERTED_CRDS.includes(crd.spec?.names?.plural)) continue;
    crd.spec.conversion = { strategy: 'Webhook', webhook: { clientConfig: { url: `${url}/convert`, caBundle }, conversionReviewVersions: ['v1'] } };
  }
  const webhooks = readDocs(join(configDir, 'webhook', 'manifests.yaml'));
  for (const cfg of webhooks) {
    cfg.metadata.name = `kueue-${cfg.metadata.name}`;
    for (const w of cfg.webhooks ?? []) {
      const path = w.clientConfig?.service?.path;
      if (!path) throw new Error(`Kueue webhook ${w.name} in ${configDir}/webhook/manifests.yaml has no service path`);
      w.clientConfig = { url: `${url}${path}`, caBundle };
      if (NAMESPACED_WEBHOOKS.has(w.name)) {
        w.namespaceSelector = { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: EXCLUDED_NAMESPACES }] };
      }
    }
  }
  // The manager's ClusterRole and its Roles in Kueue's namespace (secrets, cluster profiles), each bound to its user.
  const rbacDir = join(configDir, 'rbac');
  const roles = readdirSync(rbacDir).filter((f) => f.endsWith('.yaml')).sort().flatMap((f) => readDocs(join(rbacDir, f)))
    .filter((d) => d.kind === 'ClusterRole' || d.kind === 'Role');
  if (!roles.some((r) => r.kind === 'ClusterRole')) throw new Error(`no ClusterRole in ${rbacDir}`);
  const rbac = roles.flatMap((role) => {
    const namespaced = role.kind === 'Role';
    role.metadata = { name: `kueue-${role.metadata.name}`, ...(namespaced ? { namespace: KUEUE_NAMESPACE } : {}) };
    return [role, {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: namespaced ? 'RoleBinding' : 'ClusterRoleBinding',
      metadata: { ...role.metadata, name: `${role.metadata.name}-binding` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: role.kind, name: role.metadata.name },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: KUEUE_USER }],
    }];
  });
  return { crds, webhooks, rbac };
}

const toYaml = (objs: any[]) => objs.map((o) => stringify(o)).join('---\n');

/** Installs Kueue's CRDs, RBAC and webhooks into `c`, starts its controller-manager and waits until the API server
 *  reaches its webhook. The process stops with the cluster (its pid file is under the cluster's state folder). */
export async function startKueue(c: LocalCluster, opts: KueueOptions = {}): Promise<RunningKueue> {
  const timeoutMs = opts.timeoutMs ?? 90_000;
  const { binary, config, version } = kueueInstall(c.binDir);
  ensureMetricsCert();
  const pki = ensurePki(join(c.stateDir, 'pki'));
  const dir = join(c.stateDir, 'kueue');
  const certDir = join(dir, 'certs');
  mkdirSync(certDir, { recursive: true });
  const serving = webhookCert(pki, 'kueue-webhook', '/CN=kueue-webhook');
  copyFileSync(serving.cert, join(certDir, 'tls.crt'));
  copyFileSync(serving.key, join(certDir, 'tls.key'));
  const identity = clientCert(pki, 'kueue', `/CN=${KUEUE_USER}`);
  const kubeconfig = writeKubeconfig(join(dir, 'kueue.kubeconfig'), c.server, pki, { name: 'kueue', ...identity });
  const [webhookPort, healthPort] = await freePorts(2);
  const url = `https://127.0.0.1:${webhookPort}`;

  const m = kueueManifests(config, url, readFileSync(pki.caCert, 'utf8'));
  await c.kubectl(['create', 'namespace', KUEUE_NAMESPACE]).catch(() => undefined);
  await c.kubectl(['apply', '--server-side', '-f', '-'], toYaml(m.crds));
  await c.kubectl(['apply', '--server-side', '-f', '-'], toYaml(m.rbac));
  await c.kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...m.crds.map((d) => `crd/${d.metadata.name}`)]);

  const cfgFile = join(dir, 'config.yaml');
  writeFileSync(cfgFile, stringify({
    apiVersion: 'config.kueue.x-k8s.io/v1beta2',
    kind: 'Configuration',
    namespace: KUEUE_NAMESPACE,
    health: { healthProbeBindAddress: `127.0.0.1:${healthPort}` },
    // "0": no metrics server (it would need an in-cluster Service to be scraped).
    metrics: { bindAddress: '0' },
    webhook: { host: '127.0.0.1', port: webhookPort, certDir },
    leaderElection: { leaderElect: false },
    internalCertManagement: { enable: false },
    manageJobsWithoutQueueName: false,
    integrations: { frameworks: opts.frameworks ?? ['pod'] },
  }));
  const component = startComponent(c.stateDir, 'kueue', binary, [`--config=${cfgFile}`, '--zap-log-level=2',
    // The visibility API server would need an APIService and a port of its own; nothing here reads it.
    '--feature-gates=VisibilityOnDemand=false'], { KUBECONFIG: kubeconfig });
  try {
    await waitHealthy(component, `http://127.0.0.1:${healthPort}/readyz`, {}, timeoutMs);
    // Registered after Kueue listens: a pod webhook with failurePolicy Fail and no server would refuse every pod.
    await c.kubectl(['apply', '--server-side', '-f', '-'], toYaml(m.webhooks));
    // The API server → webhook path works once a dry-run create passes Kueue's defaulting and validation webhooks.
    const probe = 'apiVersion: kueue.x-k8s.io/v1beta2\nkind: ResourceFlavor\nmetadata: {name: moe-webhook-probe}\n';
    await eventually(async () => (await c.kubectl(['create', '--dry-run=server', '-f', '-'], probe)).includes('created'), { timeoutMs, what: `Kueue's webhook at ${url} answering the API server` });
  } catch (err) {
    await stopPid(component.pid);
    throw err;
  }
  return { component, webhookUrl: url, version, stop: () => stopPid(component.pid) };
}
