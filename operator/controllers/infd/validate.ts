// Pure checks the CRD schema cannot do (or that an older CRD may not have enforced). Each message names the field and
// the fix; a deployment failing them is marked Invalid (its existing pods keep serving) until the spec changes.
import { ROLES } from '../../api/constants.js';
import { numericBoundErrors } from '../../api/bounds.js';
import { InferenceDeploymentSchema, type IInferenceDeployment } from '../../api/types.gen.js';
import type { ModelConfig } from '../../plan/types.js';
import { parseIntOrPercent, roleShape } from './spec.js';
import { dnsLabelError } from '../names.js';
import { masterPortError } from '../master-port.js';
import { Kueue } from '../mtj/kueue.js';

/** Pod names are <deployment>-<role>-<replica>-<index> and double as DNS hostnames (≤ 63 characters). */
export const MAX_DEPLOYMENT_NAME = 40;

/** `arch` is the resolved architecture when known (spec.model.architecture or the training job's model). */
export function validateDeployment(d: IInferenceDeployment, arch?: ModelConfig): string[] {
  const errs: string[] = [];
  const name = d.metadata?.name ?? '';
  if (name.length > MAX_DEPLOYMENT_NAME) errs.push(`metadata.name: ${name.length} characters; use at most ${MAX_DEPLOYMENT_NAME} (pod hostnames are <name>-<role>-<replica>-<index>)`);
  const dns = dnsLabelError(name, 'the Services are <name> and <name>-pods, pod hostnames <name>-<role>-<replica>-<index>');
  if (dns) errs.push(dns);
  // Kueue would take each labelled pod as a Workload of its own (this controller does not make a replica's pods one pod
  // group) and admit a replica's gang pod by pod, holding GPUs for replicas that cannot start.
  const queue = d.metadata?.labels?.[Kueue.queueLabel];
  if (queue) errs.push(`metadata.labels[${Kueue.queueLabel}]: ${JSON.stringify(queue)}: Kueue does not admit InferenceDeployment replicas (only MoETrainingJobs, as pod groups); remove the label and leave the deployment's GPUs outside the ClusterQueue's quota`);
  // Numbers an older CRD may not have bounded (the API server enforces the current ones).
  const bounds = numericBoundErrors(InferenceDeploymentSchema.properties!.spec!, d.spec, 'spec');
  if (bounds.length) return [...errs, ...bounds];
  const m = d.spec.model ?? {};
  if (!!m.checkpoint === !!m.trainingJob) errs.push('spec.model: set exactly one of checkpoint or trainingJob');
  if (m.checkpoint && !m.checkpoint.uri?.startsWith('file:///')) errs.push(`spec.model.checkpoint.uri: ${JSON.stringify(m.checkpoint.uri)} is not an absolute file:// URI (file:///models/tiny)`);
  for (const role of ROLES) {
    const s = roleShape(d, role);
    const f = `spec.roles.${role}`;
    const g = s.pods * s.gpusPerPod;
    if (s.ep !== g) errs.push(`${f}.parallelism.expert: ${s.ep} must equal podsPerReplica x gpusPerPod = ${g}; omit it to get ${g}`);
    if (s.gpusPerPod % s.tp !== 0) errs.push(`${f}.parallelism.tensor: ${s.tp} must divide gpusPerPod (${s.gpusPerPod})`);
    else if (s.dp * s.tp !== g) errs.push(`${f}.parallelism.data: data x tensor = ${s.dp * s.tp} must equal ${g}; omit data to get ${g / s.tp}`);
    if (s.speculative && arch && arch.num_nextn_predict_layers < 1) {
      errs.push(`${f}.speculative: method ${s.speculative.method} drafts with the model's MTP module, but the architecture has num_nextn_predict_layers ${arch.num_nextn_predict_layers}; serve a model trained with MTP (num_nextn_predict_layers >= 1) or remove speculative`);
    }
    if (arch) {
      const slots = arch.n_routed_experts + s.redundantExperts;
      if (slots % s.ep !== 0) {
        errs.push(`${f}.redundantExperts: ${arch.n_routed_experts} routed experts + ${s.redundantExperts} redundant = ${slots} slots do not split evenly over ${s.ep} GPUs; use a redundantExperts with (${arch.n_routed_experts} + it) divisible by ${s.ep}`);
      }
    }
  }
  for (const k of ['maxSurge', 'maxUnavailable'] as const) {
    const v = d.spec.rollout?.[k];
    if (v !== undefined && !parseIntOrPercent(v)) errs.push(`spec.rollout.${k}: ${JSON.stringify(v)} is neither a non-negative integer nor a percentage like 25%`);
  }
  const tpl = d.spec.template as { spec?: { containers?: unknown } } | undefined;
  if (tpl?.spec?.containers !== undefined) {
    const cs = tpl.spec.containers;
    if (!Array.isArray(cs) || cs.length === 0) errs.push('spec.template.spec.containers: give at least one container (the first runs moe-runtime serve)');
    else
      cs.forEach((c: any, i: number) => {
        if (!c || typeof c.name !== 'string' || !c.name) errs.push(`spec.template.spec.containers[${i}].name: required`);
        if (!c || typeof c.image !== 'string' || !c.image) errs.push(`spec.template.spec.containers[${i}].image: required`);
      });
  }
  const port = masterPortError(d.spec.template);
  if (port) errs.push(port);
  return errs;
}
