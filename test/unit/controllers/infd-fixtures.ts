// Builders for InferenceDeployment controller tests: makeDeployment('s').decode({replicas: 2, podsPerReplica: 2}).obj().
import { applyDefaults } from '../../../operator/api/defaults.js';
import { InferenceDeploymentSchema, type IInferenceDeployment, type IInferenceDeploymentSpecRolesDecode } from '../../../operator/api/types.gen.js';

export function makeDeployment(name: string) {
  const d: IInferenceDeployment = {
    apiVersion: 'moe.io/v1alpha1',
    kind: 'InferenceDeployment',
    metadata: { name, namespace: 'team', uid: `uid-${name}`, generation: 1, labels: {} },
    spec: {
      model: { checkpoint: { uri: 'file:///models/tiny' }, architecture: { preset: 'deepseek-v3-tiny' } },
      roles: { prefill: { replicas: 1, podsPerReplica: 1, gpusPerPod: 8 }, decode: { replicas: 2, podsPerReplica: 2, gpusPerPod: 8, redundantExperts: 16 } },
      template: { spec: { containers: [{ name: 'server', image: 'moe-runtime:test', command: ['moe-runtime'] }] } },
    },
  };
  const b = {
    prefill(r: IInferenceDeploymentSpecRolesDecode) {
      d.spec.roles!.prefill = { ...d.spec.roles!.prefill, ...r };
      return b;
    },
    decode(r: IInferenceDeploymentSpecRolesDecode) {
      d.spec.roles!.decode = { ...d.spec.roles!.decode, ...r };
      return b;
    },
    with(f: (d: IInferenceDeployment) => void) {
      f(d);
      return b;
    },
    obj(): IInferenceDeployment {
      return { ...structuredClone(d), spec: applyDefaults(InferenceDeploymentSchema.properties!.spec!, d.spec) };
    },
  };
  return b;
}

export const CTX = { modelUri: 'file:///checkpoints/team/tj/export', gpuResource: 'nvidia.com/gpu', rdmaResource: 'rdma/ib' };
