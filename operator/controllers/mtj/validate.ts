// Pure checks the CRD schema cannot express (or that an older CRD may not have enforced). Each message names the field
// and the fix; a job failing them is marked Invalid and not retried until its spec changes.
import { numericBoundErrors } from '../../api/bounds.js';
import { MoETrainingJobSchema, type IMoETrainingJob } from '../../api/types.gen.js';
import { readJobSpec } from '../../plan/job.js';
import { resolveModel } from '../../plan/model-size.js';
import { dnsLabelError } from '../names.js';
import { masterPortError } from '../master-port.js';
import { grpoLayoutProblem } from '../../contract/index.js';

/** Pod names are <job>-<index> and double as DNS hostnames (≤ 63 characters). */
export const MAX_JOB_NAME = 50;

/** The most ranks the planner places (also a CEL rule in the CRD): 131072 GPUs plan in about 2 s on 2 cores. */
export const MAX_WORLD_SIZE = 131072;

export function validateJob(job: IMoETrainingJob): string[] {
  const errs: string[] = [];
  const name = job.metadata?.name ?? '';
  if (name.length > MAX_JOB_NAME) errs.push(`metadata.name: ${name.length} characters; use at most ${MAX_JOB_NAME} (pod hostnames are <name>-<index>)`);
  const dns = dnsLabelError(name, 'the Service and pod hostnames are <name> and <name>-<index>');
  if (dns) errs.push(dns);
  const s = job.spec;
  // Numbers first: the model and planner checks below loop over layers and experts, so out-of-range values stop here.
  const bounds = numericBoundErrors(MoETrainingJobSchema.properties!.spec!, s, 'spec');
  const par = s.parallelism ?? {};
  const ranks = (par.pipeline?.stages ?? 1) * (par.expert ?? 1) * (par.data ?? 1) * (par.tensor ?? 1);
  if (ranks > MAX_WORLD_SIZE) bounds.push(`spec.parallelism: world size ${ranks} (pipeline.stages x expert x data x tensor) is above ${MAX_WORLD_SIZE} GPUs, the most the planner places; lower data or expert`);
  if (bounds.length) return [...errs, ...bounds];
  const m = resolveModel(s.model, 'spec.model');
  if (!m.ok) for (const e of m.errors) errs.push(`${e.field}: ${e.message}`);
  const p = s.parallelism;
  const pp = p.pipeline?.stages ?? 1;
  const ep = p.expert ?? 1;
  const mb = p.pipeline?.microBatches ?? 1;
  const sched = p.pipeline?.schedule ?? '1F1B';
  if (sched === 'DualPipe' && pp % 2 !== 0) errs.push(`spec.parallelism.pipeline.stages: DualPipe needs an even count, got ${pp}`);
  if (sched === 'DualPipe' && mb % 2 !== 0) errs.push(`spec.parallelism.pipeline.microBatches: DualPipe needs an even count, got ${mb}`);
  if (sched !== '1F1B' && mb < 2 * pp) errs.push(`spec.parallelism.pipeline.microBatches: ${sched} needs at least 2 x stages = ${2 * pp}, got ${mb}`);
  if (m.ok && m.model.n_routed_experts % ep !== 0) errs.push(`spec.parallelism.expert: ${m.model.n_routed_experts} routed experts do not split evenly over ${ep} EP ranks`);
  const world = pp * ep * (p.data ?? 1) * (p.tensor ?? 1);
  const gpp = p.gpusPerPod ?? 8;
  if (world % gpp !== 0) errs.push(`spec.parallelism.gpusPerPod: world size ${world} is not a multiple of ${gpp}`);
  // The planner's own reading of the spec (batch divisibility, packing rules): what it rejects is a spec error.
  if (m.ok) {
    const r = readJobSpec({ model: s.model, parallelism: s.parallelism, training: s.training ?? {}, packing: s.packing ?? {} }, 'spec');
    if (!r.ok) for (const e of r.errors) if (!errs.some((x) => x.startsWith(e.field))) errs.push(`${e.field}: ${e.message}`);
  }
  errs.push(...postTrainingDataErrors(s));
  const tpl = s.template as { spec?: { containers?: unknown } } | undefined;
  if (tpl?.spec?.containers !== undefined) {
    const cs = tpl.spec.containers;
    if (!Array.isArray(cs) || cs.length === 0) errs.push('spec.template.spec.containers: give at least one container (the first is the trainer)');
    else
      cs.forEach((c: any, i: number) => {
        if (!c || typeof c.name !== 'string' || !c.name) errs.push(`spec.template.spec.containers[${i}].name: required`);
        if (!c || typeof c.image !== 'string' || !c.image) errs.push(`spec.template.spec.containers[${i}].image: required`);
      });
  }
  const port = masterPortError(s.template);
  if (port) errs.push(port);
  if (s.training?.mode === 'grpo') {
    const g = grpoLayoutProblem({ pp, ep, dp: p.data ?? 1 }, s.training.grpo?.promptsPerStep ?? 8);
    if (g) errs.push(`spec.${g}`);
  }
  return errs;
}

/**
 * What the schema cannot say about the data of the post-training modes: the runtime reads file:// URIs and pod paths
 * only; data.heldOutUri is read by sft and grpo. (training.sft is defaulted on every job, so it is not checked.)
 */
function postTrainingDataErrors(s: IMoETrainingJob['spec']): string[] {
  const errs: string[] = [];
  const mode = s.training?.mode ?? 'pretrain';
  for (const [field, uri] of [['spec.data.uri', s.data?.uri], ['spec.data.heldOutUri', s.data?.heldOutUri]] as const) {
    if (mode !== 'pretrain' && uri && /^[a-z][a-z0-9+.-]*:\/\//i.test(uri) && !uri.startsWith('file://')) {
      errs.push(`${field}: ${uri} — the runtime reads file:// URIs or paths inside the pod; mount the data through spec.template`);
    }
  }
  if (mode === 'pretrain' && s.data?.heldOutUri) errs.push('spec.data.heldOutUri: read by training.mode sft (held-out loss) and grpo (held-out reward); remove it or set the mode');
  return errs;
}
