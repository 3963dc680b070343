import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Pod } from '@kubernetes/client-node';
import { containerEnv, expand, fieldValue, rewritePaths } from '../../cluster/runner/env.js';

const pod: V1Pod = {
  metadata: { name: 'rank-3', namespace: 'train', uid: 'u-1', labels: { 'moe.io/rank': '3' }, annotations: { a: 'b' } },
  spec: { nodeName: 'runner-0', serviceAccountName: 'job-sa', containers: [{ name: 'c', image: 'x', resources: { limits: { cpu: '2' } } }] },
  status: { podIP: '127.1.0.5' },
};
const noLookups = { configMap: async () => undefined, secret: async () => undefined };

test('$(VAR) expands defined variables, keeps unknown ones and unescapes $$', () => {
  assert.equal(expand('$(A)-$(B)-$$(A)-$(C)', { A: '1', B: 'two' }), '1-two-$(A)-$(C)');
});

test('the downward API reads names, labels by key, node and pod IP', () => {
  assert.equal(fieldValue(pod, 'metadata.name'), 'rank-3');
  assert.equal(fieldValue(pod, "metadata.labels['moe.io/rank']"), '3');
  assert.equal(fieldValue(pod, 'spec.nodeName'), 'runner-0');
  assert.equal(fieldValue(pod, 'status.podIP'), '127.1.0.5');
  assert.throws(() => fieldValue(pod, 'spec.bogus'), /spec\.bogus is not supported/);
});

test('env is built in order, with later entries seeing earlier ones and config maps looked up', async () => {
  const env = await containerEnv(pod, {
    name: 'c',
    envFrom: [{ configMapRef: { name: 'cm' }, prefix: 'CM_' }],
    env: [
      { name: 'RANK', valueFrom: { fieldRef: { fieldPath: "metadata.labels['moe.io/rank']" } } },
      { name: 'ADDR', value: 'host-$(RANK):$(CM_PORT)' },
      { name: 'CPU', valueFrom: { resourceFieldRef: { resource: 'limits.cpu' } } },
    ],
  }, { BASE: '1' }, { configMap: async (ns, name) => (ns === 'train' && name === 'cm' ? { PORT: '29500' } : undefined), secret: async () => undefined });
  assert.deepEqual(env, { BASE: '1', CM_PORT: '29500', RANK: '3', ADDR: 'host-3:29500', CPU: '2' });
});

test('a missing config map key is an error that names the variable, unless optional', async () => {
  await assert.rejects(containerEnv(pod, { name: 'c', env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'nope', key: 'k' } } }] }, {}, noLookups), /env X: config map train\/nope key k not found/);
  const env = await containerEnv(pod, { name: 'c', env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'nope', key: 'k', optional: true } } }] }, {}, noLookups);
  assert.equal('X' in env, false);
});

test('paths under a mount point are rewritten, longest mount first, whole components only', () => {
  const mounts = [{ mountPath: '/data', hostPath: '/p/root/data' }, { mountPath: '/data/ckpt', hostPath: '/p/root/data/ckpt' }];
  assert.equal(rewritePaths('--plan=/data/plan.json', mounts), '--plan=/p/root/data/plan.json');
  assert.equal(rewritePaths('/data/ckpt/step-1', mounts), '/p/root/data/ckpt/step-1');
  assert.equal(rewritePaths('/database/x', mounts), '/database/x');
  assert.equal(rewritePaths('a /data b', mounts), 'a /p/root/data b');
});
