// The MoETrainingJob controller's metric families, added to the operator's registry (kube/metrics.ts) with
// `metrics.part(mtjMetrics)`: jobs by phase, gang release latency, gang restarts, checkpoint age.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface MtjMetrics {
  jobsByPhase: Gauge<'phase'>;
  gangReleaseSeconds: Histogram;
  restarts: Counter<'reason'>;
  checkpointAge: Gauge<'namespace' | 'job'>;
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
  };
}
