// Rank 0's reports to the operator: merge patches of `data.progress` and `data.checkpoint` on the job's report
// ConfigMap ($MOE_REPORT_CONFIGMAP in $MOE_NAMESPACE), the one object its ServiceAccount may patch (see
// operator/controllers/mtj/README.md). The reports and their keys are the pod contract's (operator/contract/reports.ts).
// A report that fails is logged and training goes on: status lags, nothing breaks.
import { ReportConfigMap, TrainEnv, formatCheckpoint, formatProgress, type CheckpointReport, type ProgressReport } from '../../../operator/contract/index.js';
import { inClusterConfigMaps, type ConfigMapStore } from '../kube/configmaps.js';

export class OperatorReporter {
  private inFlight: Promise<void> | undefined;
  private pending: ProgressReport | undefined;

  private constructor(private readonly store: ConfigMapStore, private readonly name: string,
    private readonly warn: (msg: string) => void) {}

  /** A reporter when this process runs as a job's rank 0 inside the cluster; undefined otherwise (local runs). */
  static fromEnv(env: NodeJS.ProcessEnv, warn: (msg: string) => void): OperatorReporter | undefined {
    const name = env[TrainEnv.reportConfigMap];
    const store = name ? inClusterConfigMaps(env) : undefined;
    return name && store ? new OperatorReporter(store, name, warn) : undefined;
  }

  private patch(data: Record<string, string>): Promise<void> {
    return this.store.mergePatch(this.name, data).then(() => undefined, (err: unknown) => {
      this.warn(`report to ConfigMap ${this.store.namespace}/${this.name} failed: ${(err as Error).message}`);
    });
  }

  /** Progress never waits: while one patch is in flight only the newest report is kept for the next. */
  progress(p: ProgressReport): void {
    this.pending = p;
    if (this.inFlight) return;
    const send = (): Promise<void> | undefined => {
      const next = this.pending;
      this.pending = undefined;
      if (!next) return undefined;
      return this.patch({ [ReportConfigMap.keys.progress]: formatProgress(next) }).then(() => { this.inFlight = send(); });
    };
    this.inFlight = send();
  }

  /** Called once a checkpoint is committed; awaited so that the operator learns of it before the next step. */
  async checkpoint(c: CheckpointReport): Promise<void> {
    await this.patch({ [ReportConfigMap.keys.checkpoint]: formatCheckpoint(c) });
  }

  async flush(): Promise<void> {
    while (this.inFlight) {
      const f = this.inFlight;
      await f;
      if (this.inFlight === f) this.inFlight = undefined;
    }
  }
}

/** The URI the operator records for a checkpoint folder: the path as the container sees it (runner prefix removed). */
export function checkpointUri(dir: string, podRoot: string | undefined): string {
  const inPod = podRoot && dir.startsWith(podRoot) ? dir.slice(podRoot.length) || '/' : dir;
  return `file://${inPod}`;
}
