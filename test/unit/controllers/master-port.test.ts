// A MASTER_PORT the user sets in the template is honoured: several gangs may share one network (host networking,
// the local runner), so 29500 cannot be forced on everyone (issue 19 item 4).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Pod } from '@kubernetes/client-node';
import { buildPod, headlessService } from '../../../operator/controllers/mtj/desired.js';
import { validateJob } from '../../../operator/controllers/mtj/validate.js';
import { headlessService as infdHeadless, rolePod } from '../../../operator/controllers/infd/desired.js';
import { validateDeployment } from '../../../operator/controllers/infd/validate.js';
import { roleShape } from '../../../operator/controllers/infd/spec.js';
import { makeJob, makePlan } from './fixtures.js';
import { CTX, makeDeployment } from './infd-fixtures.js';

const ctx = { attempt: 0, gpuResource: 'nvidia.com/gpu', rdmaResource: 'rdma/ib' };
const envOf = (p: V1Pod) => p.spec!.containers[0]!.env!.filter((e) => e.name === 'MASTER_PORT');
const tpl = (port: Record<string, unknown>) => ({ spec: { containers: [{ name: 'trainer', image: 'moe-runtime:test', env: [{ name: 'MASTER_PORT', ...port }] }] } });

describe('MASTER_PORT in a MoETrainingJob template', () => {
  test('is honoured in the env (once), the container port and the headless Service', () => {
    const job = makeJob('a').with((j) => (j.spec.template = tpl({ value: '31234' }))).obj();
    const pod = buildPod(job, makePlan(2, 8), 1, ctx, 'h');
    assert.deepEqual(envOf(pod), [{ name: 'MASTER_PORT', value: '31234' }]);
    assert.equal(pod.spec!.containers[0]!.ports![0]!.containerPort, 31234);
    const svc = headlessService(job) as { spec: { ports: Array<{ port: number; targetPort: number }> } };
    assert.deepEqual([svc.spec.ports[0]!.port, svc.spec.ports[0]!.targetPort], [31234, 31234]);
    assert.deepEqual(validateJob(job), []);
  });

  test('without one, 29500', () => {
    const pod = buildPod(makeJob('a').obj(), makePlan(2, 8), 0, ctx, 'h');
    assert.deepEqual(envOf(pod), [{ name: 'MASTER_PORT', value: '29500' }]);
  });

  test('a port that is not 1..65535, or a valueFrom, makes the job Invalid naming the field', () => {
    for (const bad of [{ value: '70000' }, { value: 'http' }, { valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }]) {
      const errs = validateJob(makeJob('a').with((j) => (j.spec.template = tpl(bad))).obj());
      assert.ok(errs.some((e) => e.startsWith('spec.template.spec.containers[0].env[MASTER_PORT]:')), JSON.stringify(errs));
    }
  });
});

describe('MASTER_PORT in an InferenceDeployment template', () => {
  test('is honoured in every replica\'s env and the headless Service', () => {
    const d = makeDeployment('s').with((x) => (x.spec.template = tpl({ value: '31000' }))).obj();
    const p = rolePod(d, roleShape(d, 'decode'), 1, 1, CTX, 'r');
    assert.deepEqual(envOf(p), [{ name: 'MASTER_PORT', value: '31000' }]);
    const svc = infdHeadless(d) as { spec: { ports: Array<{ name: string; port: number }> } };
    assert.equal(svc.spec.ports.find((x) => x.name === 'rendezvous')!.port, 31000);
    assert.deepEqual(validateDeployment(d), []);
  });
});
