// Pure: where the served weights come from (a checkpoint URI, or the export of a finished MoETrainingJob) and the
// model architecture when it is known.
import { InfdReason } from '../../api/constants.js';
import { numericBoundErrors } from '../../api/bounds.js';
import { MoETrainingJobSchema, type IInferenceDeployment, type IMoETrainingJob } from '../../api/types.gen.js';
import { resolveModel } from '../../plan/model-size.js';
import type { ModelConfig } from '../../plan/types.js';
import { checkpointDir } from '../mtj/desired.js';

export type ModelSource =
  | { ready: true; uri: string; resolvedFrom: string; message: string }
  | { ready: false; reason: string; message: string };

/** The inference export rank 0 writes at the end of training (runtime/src/parallel/main.ts: <run dir>/export). */
export function trainingExportUri(job: IMoETrainingJob): string {
  return `${checkpointDir(job)}/export`;
}

export function resolveModelSource(d: IInferenceDeployment, job: IMoETrainingJob | undefined): ModelSource {
  const m = d.spec.model;
  if (m.checkpoint) return { ready: true, uri: m.checkpoint.uri, resolvedFrom: 'checkpoint', message: `serving ${m.checkpoint.uri}` };
  const name = m.trainingJob?.name ?? '';
  const from = `MoETrainingJob/${name}`;
  let wait: ModelSource;
  if (!job) wait = { ready: false, reason: InfdReason.TrainingJobNotFound, message: `MoETrainingJob ${name} not found in namespace ${d.metadata?.namespace}; create it or fix spec.model.trainingJob.name` };
  else if (job.status?.phase === 'Succeeded') {
    const uri = trainingExportUri(job);
    return { ready: true, uri, resolvedFrom: from, message: `serving the export of ${from} (step ${job.status.progress?.step ?? '?'}): ${uri}` };
  } else if (job.status?.phase === 'Failed') wait = { ready: false, reason: InfdReason.TrainingJobFailed, message: `${from} failed; nothing to serve until it is re-run and succeeds` };
  else wait = { ready: false, reason: InfdReason.WaitingForTrainingJob, message: `waiting for ${from} to succeed (phase ${job.status?.phase ?? 'Pending'}, step ${job.status?.progress?.step ?? 0} of ${job.spec.training?.steps ?? '?'})` };
  // A model once resolved from this job keeps being served (the job may be deleted or re-run later).
  const had = d.status?.model;
  if (had?.uri && had.resolvedFrom === from) return { ready: true, uri: had.uri, resolvedFrom: from, message: `serving ${had.uri} (${wait.message})` };
  return wait;
}

/** The architecture: spec.model.architecture, else the training job's model; errors name the field. */
export function resolveArchitecture(d: IInferenceDeployment, job: IMoETrainingJob | undefined): { model?: ModelConfig; errors: string[] } {
  const a = d.spec.model.architecture;
  if (a) {
    // config is preserve-unknown-fields here: the bounds of MoETrainingJob spec.model.config apply, checked before use.
    const modelSchema = MoETrainingJobSchema.properties!.spec!.properties!.model!;
    const bounds = numericBoundErrors(modelSchema, a, 'spec.model.architecture');
    if (bounds.length) return { errors: bounds };
    const r = resolveModel(a, 'spec.model.architecture');
    return r.ok ? { model: r.model, errors: [] } : { errors: r.errors.map((e) => `${e.field}: ${e.message}`) };
  }
  if (d.spec.model.trainingJob && job) {
    // An out-of-range job model is the job's own error (it is Invalid); serving learns nothing from it.
    if (numericBoundErrors(MoETrainingJobSchema.properties!.spec!.properties!.model!, job.spec.model, 'spec.model').length) return { errors: [] };
    const r = resolveModel(job.spec.model, `MoETrainingJob/${job.metadata?.name}.spec.model`);
    return r.ok ? { model: r.model, errors: [] } : { errors: [] };
  }
  return { errors: [] };
}
