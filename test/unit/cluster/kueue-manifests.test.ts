// How the harness rewrites Kueue's own manifests for a Kueue that runs beside the control plane (test/cluster/kueue.ts):
// webhooks and conversion go to a loopback URL with the cluster CA, the kustomization's namespace exclusions are kept,
// Roles land in kueue-system and every role is bound to Kueue's user. On a small copy of config/'s layout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kueueManifests } from '../../cluster/kueue.js';

function fixture(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kueue-config-'));
  for (const d of ['crd', 'webhook', 'rbac']) mkdirSync(join(dir, d));
  writeFileSync(join(dir, 'crd', 'kueue.x-k8s.io_workloads.yaml'), 'apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: workloads.kueue.x-k8s.io}\nspec:\n  names: {plural: workloads}\n');
  writeFileSync(join(dir, 'crd', 'kueue.x-k8s.io_topologies.yaml'), 'apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: topologies.kueue.x-k8s.io}\nspec:\n  names: {plural: topologies}\n');
  writeFileSync(join(dir, 'webhook', 'manifests.yaml'), `---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: mutating-webhook-configuration}
webhooks:
- name: mpod.kb.io
  clientConfig: {service: {name: webhook-service, namespace: system, path: /mutate--v1-pod}}
- name: mclusterqueue.kb.io
  clientConfig: {service: {name: webhook-service, namespace: system, path: /mutate-kueue-x-k8s-io-v1beta2-clusterqueue}}
`);
  writeFileSync(join(dir, 'rbac', 'role.yaml'), 'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: manager-role}\nrules: []\n');
  writeFileSync(join(dir, 'rbac', 'manager_secrets_role.yaml'), 'apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: manager-secrets-role, namespace: system}\nrules: []\n');
  return dir;
}

test('webhooks point at the loopback URL with the CA; the pod webhook keeps its namespace exclusions', () => {
  const m = kueueManifests(fixture(), 'https://127.0.0.1:9443', 'PEM');
  const [cfg] = m.webhooks;
  assert.equal(cfg.metadata.name, 'kueue-mutating-webhook-configuration');
  const pod = cfg.webhooks.find((w: any) => w.name === 'mpod.kb.io');
  assert.deepEqual(pod.clientConfig, { url: 'https://127.0.0.1:9443/mutate--v1-pod', caBundle: Buffer.from('PEM').toString('base64') });
  assert.deepEqual(pod.namespaceSelector.matchExpressions[0].values, ['kube-system', 'kueue-system']);
  const cq = cfg.webhooks.find((w: any) => w.name === 'mclusterqueue.kb.io');
  assert.equal(cq.clientConfig.url, 'https://127.0.0.1:9443/mutate-kueue-x-k8s-io-v1beta2-clusterqueue');
  assert.equal(cq.namespaceSelector, undefined);
});

test('only the CRDs Kueue converts get the conversion webhook', () => {
  const m = kueueManifests(fixture(), 'https://127.0.0.1:9443', 'PEM');
  const wl = m.crds.find((c) => c.spec.names.plural === 'workloads');
  assert.equal(wl.spec.conversion.strategy, 'Webhook');
  assert.equal(wl.spec.conversion.webhook.clientConfig.url, 'https://127.0.0.1:9443/convert');
  assert.equal(m.crds.find((c) => c.spec.names.plural === 'topologies').spec.conversion, undefined);
});

test("the ClusterRole and the Role in Kueue's namespace are each bound to Kueue's user", () => {
  const m = kueueManifests(fixture(), 'https://127.0.0.1:9443', 'PEM');
  const kinds = m.rbac.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`).sort();
  assert.deepEqual(kinds, [
    'ClusterRole//kueue-manager-role',
    'ClusterRoleBinding//kueue-manager-role-binding',
    'Role/kueue-system/kueue-manager-secrets-role',
    'RoleBinding/kueue-system/kueue-manager-secrets-role-binding',
  ]);
  for (const b of m.rbac.filter((o) => o.kind.endsWith('Binding'))) assert.deepEqual(b.subjects, [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'moe:kueue-controller-manager' }]);
});

test('a webhook without a service path is refused with the file named', () => {
  const dir = fixture();
  writeFileSync(join(dir, 'webhook', 'manifests.yaml'), 'apiVersion: admissionregistration.k8s.io/v1\nkind: MutatingWebhookConfiguration\nmetadata: {name: m}\nwebhooks:\n- name: x.kb.io\n  clientConfig: {}\n');
  assert.throws(() => kueueManifests(dir, 'https://127.0.0.1:1', 'PEM'), /x\.kb\.io .*webhook\/manifests\.yaml has no service path/);
});
