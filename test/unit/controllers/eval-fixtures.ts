// MoEEvaluation objects and the pods and targets the decision sees, for the eval controller's unit tests.
import type { V1Pod } from '@kubernetes/client-node';
import { applyDefaults } from '../../../operator/api/defaults.js';
import { MoEEvaluationSchema, type IInferenceDeployment, type IMoEEvaluation, type IMoETrainingJob } from '../../../operator/api/types.gen.js';

export const T0 = new Date('2026-12-07T08:00:00Z');

export function makeEvaluation(name: string, target: IMoEEvaluation['spec']['target'], extra: Partial<IMoEEvaluation['spec']> = {}, status?: IMoEEvaluation['status']): IMoEEvaluation {
  const e: IMoEEvaluation = {
    apiVersion: 'moe.io/v1alpha1',
    kind: 'MoEEvaluation',
    metadata: { name, namespace: 'team', uid: `uid-${name}`, generation: 1, labels: { 'kueue.x-k8s.io/queue-name': 'q' } },
    spec: {
      target,
      tasks: [
        { name: 'mmlu', type: 'multiple_choice', source: { configMap: { name: 'tasks', key: 'mmlu.jsonl' } }, limit: 100 },
        { name: 'gsm8k', type: 'generate', source: { path: '/data/gsm8k.jsonl' }, maxTokens: 256, answerPattern: '#### (-?[0-9.,]+)' },
        { name: 'humaneval', type: 'code', source: { configMap: { name: 'tasks', key: 'code.jsonl' } }, samples: 4, k: [1, 4], timeoutSeconds: 10, memoryMiB: 512 },
      ],
      ...extra,
    },
  };
  if (status) e.status = status;
  return { ...e, spec: applyDefaults(MoEEvaluationSchema.properties!.spec!, e.spec) };
}

export function deployment(name: string, phase = 'Available', extra: Partial<IInferenceDeployment['spec']> = {}): IInferenceDeployment {
  return {
    apiVersion: 'moe.io/v1alpha1',
    kind: 'InferenceDeployment',
    metadata: { name, namespace: 'team', uid: `uid-${name}` },
    spec: { model: { checkpoint: { uri: 'file:///models/tiny' } }, roles: { prefill: { replicas: 1 }, decode: { replicas: 1 } }, ...extra } as IInferenceDeployment['spec'],
    status: { phase: phase as 'Available' },
  };
}

export function trainingJob(name: string, status: IMoETrainingJob['status']): IMoETrainingJob {
  return {
    apiVersion: 'moe.io/v1alpha1',
    kind: 'MoETrainingJob',
    metadata: { name, namespace: 'team', uid: `uid-${name}` },
    spec: { model: { preset: 'deepseek-v3-tiny' }, checkpoint: { uri: 'file:///ckpt' } } as IMoETrainingJob['spec'],
    status,
  };
}

/** A pod in `phase`; a terminated container with `exitCode` and `message` when given. */
export function pod(name: string, phase: string, term?: { exitCode: number; message?: string; finishedAt?: Date }, annotations?: Record<string, string>): V1Pod {
  return {
    metadata: { name, namespace: 'team', ...(annotations ? { annotations } : {}), creationTimestamp: T0 },
    status: {
      phase,
      ...(term ? { containerStatuses: [{ name: 'eval', image: 'x', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: term.exitCode, ...(term.message ? { message: term.message } : {}), ...(term.finishedAt ? { finishedAt: term.finishedAt } : {}) } } }] } : {}),
    },
  } as V1Pod;
}

export const result = (step?: number, error?: { reason: string; message: string }) => ({
  result: JSON.stringify({
    ...(step !== undefined ? { checkpoint: { step, uri: `file:///ckpt/team/tj/checkpoints/step-${step}` } } : {}),
    scores: [
      { name: 'mmlu', type: 'multiple_choice', metric: 'accuracy', score: 0.625, stderr: 0.0484, n: 100 },
      { name: 'humaneval', type: 'code', metric: 'pass@1', score: 0.25, stderr: 0.1, n: 20 },
    ],
    startedAt: '2026-12-07T07:59:00Z',
    finishedAt: '2026-12-07T08:00:00Z',
    ...(error ? { error } : {}),
  }),
});
