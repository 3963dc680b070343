// The MoETrainingJob controller's metric families, added to the operator's registry (kube/metrics.ts) with
// `metrics.part(mtjMetrics)`: jobs by phase, gang release latency, gang restarts, checkpoint age, GRPO's per-step
// reward, KL, response length, signal and reward errors.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { GrpoProgress } from '../../contract/index.js';

export interface MtjMetrics {
  jobsByPhase: Gauge<'phase'>;
  gangReleaseSeconds: Histogram;
  restarts: Counter<'reason'>;
  checkpointAge: Gauge<'namespace' | 'job'>;
  /** training.mode grpo: rank 0's last step, per job (what status.progress.grpo shows). */
  grpo: Record<'rewardMean' | 'rewardStd' | 'kl' | 'responseLength' | 'signalFraction' | 'rewardErrors', Gauge<'namespace' | 'job'>>;
}

/** Sets a GRPO job's gauges from its last progress report. */
export function observeGrpo(m: MtjMetrics, namespace: string, job: string, g: GrpoProgress | undefined): void {
  if (!g) return;
  for (const k of Object.keys(m.grpo) as (keyof MtjMetrics['grpo'])[]) if (Number.isFinite(g[k])) m.grpo[k].set({ namespace, job }, g[k]);
}

export function mtjMetrics(registry: Registry): MtjMetrics {
  const registers = [registry];
  return {
    jobsByPhase: new Gauge({ name: 'moe_jobs', help: 'MoETrainingJobs by phase', labelNames: ['phase'], registers }),
    gangReleaseSeconds: new Histogram({
      name: 'moe_gang_release_seconds',
      help: 'From the first pod of a gang created to its gates removed',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120],
      registers,
    }),
    restarts: new Counter({ name: 'moe_gang_restarts_total', help: 'Gang restarts by reason', labelNames: ['reason'], registers }),
    checkpointAge: new Gauge({ name: 'moe_checkpoint_age_seconds', help: 'Age of the latest good checkpoint per job', labelNames: ['namespace', 'job'], registers }),
    grpo: {
      rewardMean: new Gauge({ name: 'moe_job_grpo_reward_mean', help: 'GRPO: mean reward of the last reported step', labelNames: ['namespace', 'job'], registers }),
      rewardStd: new Gauge({ name: 'moe_job_grpo_reward_std', help: 'GRPO: standard deviation of the last step\'s rewards', labelNames: ['namespace', 'job'], registers }),
      kl: new Gauge({ name: 'moe_job_grpo_kl', help: 'GRPO: mean KL (k3) per response token against the reference, last step', labelNames: ['namespace', 'job'], registers }),
      responseLength: new Gauge({ name: 'moe_job_grpo_response_length', help: 'GRPO: mean response length in tokens, last step', labelNames: ['namespace', 'job'], registers }),
      signalFraction: new Gauge({ name: 'moe_job_grpo_signal_fraction', help: 'GRPO: fraction of groups with non-zero reward variance, last step', labelNames: ['namespace', 'job'], registers }),
      rewardErrors: new Gauge({ name: 'moe_job_grpo_reward_errors', help: 'GRPO: reward evaluations that threw or timed out in the last step (scored 0)', labelNames: ['namespace', 'job'], registers }),
    },
  };
}
