// Runs one probe of one container's process on its schedule: first attempt initialDelaySeconds after the process
// started, then one every periodSeconds (never two at once), each cut off after timeoutSeconds. `onVerdict` is called
// only when the thresholded verdict changes, so callers write pod status on changes alone.
import type { V1Probe } from '@kubernetes/client-node';
import { checkOnce, type ProbeTarget } from './probe-check.js';
import { initialState, observe, probeTiming, type ProbeKind, type ThresholdState } from './probe-state.js';

export interface ProberHooks {
  onVerdict(verdict: boolean): void;
  /** A failed attempt whose message differs from the previous attempt's (a run of identical failures is told once). */
  onFailure(message: string): void;
  /** The probe cannot be run here; it is treated as passing. */
  onUnsupported(why: string): void;
}

export class Prober {
  private state: ThresholdState;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private lastFailure: string | undefined;

  constructor(readonly kind: ProbeKind, private readonly probe: V1Probe, private readonly target: ProbeTarget,
    private readonly hooks: ProberHooks) {
    this.state = initialState(kind);
  }

  get verdict(): boolean { return this.state.verdict; }

  start(startedAt: Date): void {
    const t = probeTiming(this.probe);
    this.schedule(Math.max(0, startedAt.getTime() + t.initialDelayMs - Date.now()));
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(ms: number): void {
    if (!this.stopped) this.timer = setTimeout(() => void this.attempt(), ms);
  }

  private async attempt(): Promise<void> {
    const t = probeTiming(this.probe);
    const began = Date.now();
    const r = await checkOnce(this.probe, this.target, t.timeoutMs);
    if (this.stopped) return;
    if ('unsupported' in r) {
      this.hooks.onUnsupported(r.unsupported);
      this.set({ verdict: true, last: true, run: 1 });
      return; // nothing more to learn from probing again
    }
    if (!r.ok && r.message !== this.lastFailure) this.hooks.onFailure(r.message);
    this.lastFailure = r.ok ? undefined : r.message;
    this.set(observe(this.state, r.ok, t));
    this.schedule(Math.max(0, began + t.periodMs - Date.now()));
  }

  private set(next: ThresholdState): void {
    const changed = next.verdict !== this.state.verdict;
    this.state = next;
    if (changed && !this.stopped) this.hooks.onVerdict(next.verdict);
  }
}
