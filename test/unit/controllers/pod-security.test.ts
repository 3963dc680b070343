import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1PodSpec } from '@kubernetes/client-node';
import { withRestrictedDefaults } from '../../../operator/controllers/pod-security.js';

test('a template that says nothing gets every setting of the restricted profile', () => {
  const out = withRestrictedDefaults({ containers: [{ name: 'a', image: 'x' }], initContainers: [{ name: 'i', image: 'x' }] });
  assert.deepEqual(out.securityContext, { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
  for (const c of [...out.containers, ...out.initContainers!]) {
    assert.deepEqual(c.securityContext, { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
  }
});

test('explicit settings pass through unchanged, even when they ask for more than restricted allows', () => {
  const spec: V1PodSpec = {
    securityContext: { runAsUser: 0, seccompProfile: { type: 'Unconfined' } },
    containers: [{ name: 'a', image: 'x', securityContext: { privileged: true, capabilities: { add: ['SYS_ADMIN'], drop: [] } } }],
  };
  const out = withRestrictedDefaults(spec);
  assert.equal(out.securityContext!.runAsNonRoot, undefined, 'runAsUser 0 is not contradicted');
  assert.deepEqual(out.securityContext!.seccompProfile, { type: 'Unconfined' });
  assert.deepEqual(out.containers[0]!.securityContext, { privileged: true, capabilities: { add: ['SYS_ADMIN'], drop: [] } });
});

test('added capabilities keep their list and still drop the rest', () => {
  const out = withRestrictedDefaults({ containers: [{ name: 'a', securityContext: { capabilities: { add: ['NET_BIND_SERVICE'] } } }] });
  assert.deepEqual(out.containers[0]!.securityContext!.capabilities, { add: ['NET_BIND_SERVICE'], drop: ['ALL'] });
});

test('a container that asks to run as root leaves runAsNonRoot unset for the pod', () => {
  const out = withRestrictedDefaults({ containers: [{ name: 'a', securityContext: { runAsNonRoot: false } }] });
  assert.equal(out.securityContext!.runAsNonRoot, undefined);
});

test('the input is not modified', () => {
  const spec: V1PodSpec = { containers: [{ name: 'a' }] };
  withRestrictedDefaults(spec);
  assert.deepEqual(spec, { containers: [{ name: 'a' }] });
});
