// Pure: which checkpoints of a MoETrainingJob a trainingJob target evaluates. The operator sees the job's
// status.checkpoints.latest advance (it may skip steps it never saw: only the latest is in status); every Nth one it
// sees is queued, and the final export once the job has Succeeded. One pod runs at a time, so a queue that falls
// behind keeps only the newest Nth checkpoint (the job's checkpoint.keep may already have deleted older ones) and the
// final export.
import type { IMoEEvaluationStatusTraining, IMoETrainingJob } from '../../api/types.gen.js';
import { trainingExportUri } from '../infd/model-source.js';
import type { Checkpoint } from './desired.js';

export type Training = IMoEEvaluationStatusTraining;

export interface Tracked {
  training: Training;
  /** Checkpoints newly queued by this observation (for events). */
  queued: Checkpoint[];
}

/** The bookkeeping after looking at `job` once more; `training` is not modified. */
export function trackCheckpoints(training: Training | undefined, job: IMoETrainingJob, everyNth: number): Tracked {
  const t: Training = structuredClone(training ?? {});
  const queue = (t.queued ?? []).filter((c): c is Checkpoint => c.step !== undefined && c.uri !== undefined);
  const added: Checkpoint[] = [];
  const latest = job.status?.checkpoints?.latest;
  if (latest?.step !== undefined && latest.uri && (t.lastSeenStep === undefined || latest.step > t.lastSeenStep)) {
    t.seen = (t.seen ?? 0) + 1;
    t.lastSeenStep = latest.step;
    if (t.seen % everyNth === 0) {
      const c = { step: latest.step, uri: latest.uri };
      // Newest wins over an older checkpoint still waiting; the final export is never dropped.
      const kept = queue.filter((q) => isFinal(q, job));
      queue.length = 0;
      queue.push(...kept, c);
      added.push(c);
    }
  }
  if (job.status?.phase === 'Succeeded' && !t.final) {
    t.final = true;
    const c = { step: job.status.progress?.step ?? latest?.step ?? 0, uri: trainingExportUri(job) };
    queue.push(c);
    added.push(c);
  }
  t.queued = queue;
  return { training: t, queued: added };
}

export const isFinal = (c: Checkpoint, job: IMoETrainingJob): boolean => c.uri === trainingExportUri(job);

/** Whether the job will report no more checkpoints: Succeeded (and its export queued) or Failed. */
export function jobFinished(job: IMoETrainingJob): 'Succeeded' | 'Failed' | undefined {
  const p = job.status?.phase;
  return p === 'Succeeded' || p === 'Failed' ? p : undefined;
}
