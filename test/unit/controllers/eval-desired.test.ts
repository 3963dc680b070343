// Pure builders of a MoEEvaluation's children: the plan (contract/evaluation.ts), the pod (restricted Pod Security,
// `moe-runtime eval`, the plan and task ConfigMaps mounted, the report env), the report ConfigMap and its RBAC.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { apiTarget, evalPlan, evalPod, modelTarget, planConfigMap, reportConfigMap, reporterRbac, specHash } from '../../../operator/controllers/eval/desired.js';
import { parseEvalPlan } from '../../../operator/contract/index.js';
import { deployment, makeEvaluation } from './eval-fixtures.js';

const ev = makeEvaluation('e1', { inferenceDeployment: 'tiny' });
const OWNER = [{ apiVersion: 'moe.io/v1alpha1', kind: 'MoEEvaluation', name: 'e1', uid: 'uid-e1', controller: true, blockOwnerDeletion: true }];
const LABELS = { 'kueue.x-k8s.io/queue-name': 'q', 'moe.io/evaluation-name': 'e1', 'app.kubernetes.io/managed-by': 'moe-operator' };

describe('evaluation plan', () => {
  test("an InferenceDeployment target is its router Service's OpenAI API and served model name", () => {
    assert.deepEqual(apiTarget(deployment('tiny')), { kind: 'api', baseUrl: 'http://tiny.team.svc:8000/v1', model: 'tiny' });
    assert.deepEqual(apiTarget(deployment('tiny', 'Available', { router: { port: 9000 }, servedModelName: 'tiny-chat' } as never)), { kind: 'api', baseUrl: 'http://tiny.team.svc:9000/v1', model: 'tiny-chat' });
    assert.deepEqual(modelTarget('file:///models/tiny'), { kind: 'model', path: '/models/tiny' });
  });

  test('tasks become plan tasks with their files (a ConfigMap key in a folder per task, or the given path) and options', () => {
    const plan = evalPlan(ev, apiTarget(deployment('tiny')));
    assert.deepEqual(plan, {
      target: { kind: 'api', baseUrl: 'http://tiny.team.svc:8000/v1', model: 'tiny' },
      tasks: [
        { name: 'mmlu', type: 'multiple_choice', file: '/etc/moe/eval-tasks/0/mmlu.jsonl', limit: 100 },
        { name: 'gsm8k', type: 'generate', file: '/data/gsm8k.jsonl', maxTokens: 256, answerPattern: '#### (-?[0-9.,]+)' },
        { name: 'humaneval', type: 'code', file: '/etc/moe/eval-tasks/2/code.jsonl', samples: 4, k: [1, 4], timeoutSeconds: 10, memoryMiB: 512 },
      ],
      requestTimeoutSeconds: 120,
      retries: 3,
    });
    // What the operator writes is what the runtime parses.
    const cm = planConfigMap(ev, evalPlan(ev, modelTarget('file:///ckpt/step-100'), { step: 100, uri: 'file:///ckpt/step-100' }));
    assert.equal(cm.metadata.name, 'e1-eval');
    assert.deepEqual(cm.metadata.ownerReferences, OWNER);
    assert.deepEqual(parseEvalPlan(cm.data['plan.json']).checkpoint, { step: 100, uri: 'file:///ckpt/step-100' });
    assert.deepEqual(parseEvalPlan(cm.data['plan.json']).target, { kind: 'model', path: '/ckpt/step-100' });
  });

  test('a changed task changes the spec hash; suspend does not', () => {
    const h = specHash(ev);
    assert.equal(specHash({ ...ev, spec: { ...ev.spec, suspend: true } }), h);
    assert.notEqual(specHash({ ...ev, spec: { ...ev.spec, tasks: ev.spec.tasks.slice(1) } }), h);
  });
});

describe('evaluation pod', () => {
  test('runs `moe-runtime eval` with the contract env, the plan and task ConfigMaps, restricted defaults, one token', () => {
    const p = evalPod(ev, 3);
    assert.equal(p.metadata!.name, 'e1-eval-3');
    assert.deepEqual(p.metadata!.labels, { ...LABELS, 'moe.io/eval-run': '3', 'moe.io/component': 'eval' });
    assert.deepEqual(p.metadata!.ownerReferences, OWNER);
    assert.equal(p.metadata!.annotations, undefined);
    const c = p.spec!.containers[0]!;
    assert.equal(c.image, 'ghcr.io/moe-operator/moe-runtime:0.1.0');
    assert.deepEqual(c.command, ['moe-runtime']);
    assert.deepEqual(c.args, ['eval']);
    assert.equal(c.terminationMessagePolicy, 'FallbackToLogsOnError');
    assert.deepEqual(c.env, [
      { name: 'MOE_EVAL_PLAN', value: '/etc/moe/eval/plan.json' },
      { name: 'MOE_EVAL_REPORT_CONFIGMAP', value: 'e1-eval-report' },
      { name: 'MOE_NAMESPACE', value: 'team' },
    ]);
    assert.deepEqual(c.volumeMounts, [
      { name: 'moe-eval-plan', mountPath: '/etc/moe/eval', readOnly: true },
      { name: 'moe-eval-task-0', mountPath: '/etc/moe/eval-tasks/0', readOnly: true },
      { name: 'moe-eval-task-2', mountPath: '/etc/moe/eval-tasks/2', readOnly: true },
    ]);
    assert.deepEqual(p.spec!.volumes, [
      { name: 'moe-eval-plan', configMap: { name: 'e1-eval' } },
      { name: 'moe-eval-task-0', configMap: { name: 'tasks', items: [{ key: 'mmlu.jsonl', path: 'mmlu.jsonl' }] } },
      { name: 'moe-eval-task-2', configMap: { name: 'tasks', items: [{ key: 'code.jsonl', path: 'code.jsonl' }] } },
    ]);
    assert.equal(p.spec!.restartPolicy, 'Never');
    assert.equal(p.spec!.serviceAccountName, 'e1-eval');
    assert.equal(p.spec!.automountServiceAccountToken, true);
    assert.deepEqual(p.spec!.securityContext, { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    assert.deepEqual(c.securityContext, { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
  });

  test("the template's image, resources, volumes and env stay; a checkpoint run is annotated with it", () => {
    const e = makeEvaluation('e2', { checkpoint: 'file:///models/tiny' }, {
      template: {
        spec: {
          containers: [{ name: 'ev', image: 'moe-runtime:test', resources: { limits: { 'nvidia.com/gpu': '1' } }, env: [{ name: 'X', value: '1' }, { name: 'MOE_NAMESPACE', value: 'wrong' }], volumeMounts: [{ name: 'models', mountPath: '/models' }] }],
          volumes: [{ name: 'models', persistentVolumeClaim: { claimName: 'models' } }],
        },
      },
    });
    const p = evalPod(e, 0, { step: 40, uri: 'file:///ckpt/step-40' });
    const c = p.spec!.containers[0]!;
    assert.equal(c.image, 'moe-runtime:test');
    assert.deepEqual(c.resources, { limits: { 'nvidia.com/gpu': '1' } });
    assert.deepEqual(c.env!.map((x) => `${x.name}=${x.value}`), ['X=1', 'MOE_EVAL_PLAN=/etc/moe/eval/plan.json', 'MOE_EVAL_REPORT_CONFIGMAP=e2-eval-report', 'MOE_NAMESPACE=team']);
    assert.equal(c.volumeMounts![0]!.name, 'models');
    assert.deepEqual(p.spec!.volumes!.map((v) => v.name), ['models', 'moe-eval-plan', 'moe-eval-task-0', 'moe-eval-task-2']);
    assert.deepEqual(p.metadata!.annotations, { 'moe.io/checkpoint-step': '40', 'moe.io/checkpoint-uri': 'file:///ckpt/step-40' });
  });
});

describe('report channel (least privilege)', () => {
  test('the report ConfigMap has no data (the pod owns data.result); the Role patches that one ConfigMap', () => {
    assert.deepEqual(reportConfigMap(ev), {
      apiVersion: 'v1', kind: 'ConfigMap',
      metadata: { name: 'e1-eval-report', namespace: 'team', labels: { ...LABELS, 'moe.io/component': 'eval-report' }, ownerReferences: OWNER },
    });
    const [sa, role, binding] = reporterRbac(ev) as any[];
    assert.equal(sa.metadata.name, 'e1-eval');
    assert.equal(sa.automountServiceAccountToken, false);
    assert.deepEqual(role.rules, [{ apiGroups: [''], resources: ['configmaps'], resourceNames: ['e1-eval-report'], verbs: ['get', 'patch'] }]);
    assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: 'e1-eval', namespace: 'team' }]);
    assert.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'e1-eval' });
  });
});
