// Lease-based leader election (coordination.k8s.io/v1), client-go's algorithm: the holder renews every retry period;
// a candidate takes over once renewTime + leaseDuration has passed; writes carry the resourceVersion read, so two
// candidates can never both win (the loser gets 409 Conflict). `decide` is the pure part.
import type { KubeClient } from './rest.js';
import { isConflict, isNotFound, resourcePath } from './rest.js';
import { clampTimerMs } from './timers.js';

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface Lease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: LeaseSpec;
}

export type LeaseAction = 'create' | 'renew' | 'takeover' | 'wait';

/** MicroTime as the API server writes it (6 fractional digits). */
export const microTime = (d: Date): string => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

/**
 * What `me` should do with the lease it just read (undefined: none exists). Pure. `pod`: the pod incarnation this
 * process runs in (`<pod name>_<pod uid>`, a prefix of `me`), when known: a lease held by another identity under the
 * same prefix belongs to an earlier process of this very container, which the kubelet restarted only after it died,
 * so it is taken over at once instead of after the lease duration.
 */
export function decide(lease: LeaseSpec | undefined, me: string, now: Date, leaseDurationSeconds: number, pod?: string): { action: LeaseAction; spec: LeaseSpec } {
  const t = microTime(now);
  if (!lease) return { action: 'create', spec: { holderIdentity: me, leaseDurationSeconds, acquireTime: t, renewTime: t, leaseTransitions: 0 } };
  if (lease.holderIdentity === me) return { action: 'renew', spec: { ...lease, leaseDurationSeconds, renewTime: t } };
  const renewed = lease.renewTime ? Date.parse(lease.renewTime) : 0;
  const duration = (lease.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
  const predecessor = !!pod && me.startsWith(`${pod}_`) && !!lease.holderIdentity?.startsWith(`${pod}_`);
  const expired = !lease.holderIdentity || predecessor || now.getTime() > renewed + duration;
  if (!expired) return { action: 'wait', spec: lease };
  return {
    action: 'takeover',
    spec: { holderIdentity: me, leaseDurationSeconds, acquireTime: t, renewTime: t, leaseTransitions: (lease.leaseTransitions ?? 0) + 1 },
  };
}

/** This process's identity: `<pod>_<random>`, where `pod` is `<POD_NAME>_<POD_UID>` when both are known (the chart
 *  sets them from the downward API; see decide), else HOSTNAME alone and no same-pod takeover. */
export function leaderIdentity(env: Record<string, string | undefined>, random: string): { identity: string; pod?: string } {
  if (env.POD_NAME && env.POD_UID) {
    const pod = `${env.POD_NAME}_${env.POD_UID}`;
    return { identity: `${pod}_${random}`, pod };
  }
  return { identity: `${env.HOSTNAME ?? 'moe-operator'}_${random}` };
}

export interface LeaderElectorOptions {
  client: KubeClient;
  namespace: string;
  name: string;
  identity: string;
  /** The pod incarnation `identity` starts with (leaderIdentity), for taking over from this container's predecessor. */
  pod?: string;
  leaseDurationSeconds?: number;
  renewDeadlineSeconds?: number;
  retryPeriodSeconds?: number;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
  onError?: (err: unknown) => void;
}

export class LeaderElector {
  private leading = false;
  private stopped = false;
  /** The acquire/renew attempt in flight, awaited by stop(). */
  private ticking: Promise<void> = Promise.resolve();
  private lastRenew = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly o: LeaderElectorOptions) {}

  isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    this.stopped = false;
    void this.tick();
  }

  /** Stops campaigning; a leader releases the lease so a standby takes over at its next retry. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    // A renew still in flight would otherwise land after the release (or make it conflict), and the standby would
    // wait out the whole lease duration.
    await this.ticking;
    if (!this.leading) return;
    this.leading = false;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const lease = await this.o.client.get<Lease>(this.path());
        if (lease.spec.holderIdentity === this.o.identity) {
          await this.o.client.request('PUT', this.path(), {
            body: { ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(new Date()) } },
          });
        }
        return;
      } catch (e) {
        if (!isConflict(e) || attempt === 2) this.o.onError?.(e);
        if (!isConflict(e)) return;
      }
    }
  }

  private path(): string {
    return resourcePath('coordination.k8s.io/v1', 'Lease', this.o.namespace, this.o.name);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const duration = this.o.leaseDurationSeconds ?? 15;
    const attempt = this.tryAcquireOrRenew(duration).catch((e: unknown) => {
      if (!isConflict(e)) this.o.onError?.(e);
    });
    this.ticking = attempt;
    await attempt;
    if (this.stopped) return;
    if (this.leading && Date.now() - this.lastRenew > (this.o.renewDeadlineSeconds ?? 10) * 1000) {
      this.leading = false;
      this.o.onStoppedLeading();
    }
    if (!this.stopped) {
      this.timer = setTimeout(() => void this.tick(), clampTimerMs((this.o.retryPeriodSeconds ?? 2) * 1000));
      this.timer.unref();
    }
  }

  private async tryAcquireOrRenew(duration: number): Promise<void> {
    let current: Lease | undefined;
    try {
      current = await this.o.client.get<Lease>(this.path());
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    const { action, spec } = decide(current?.spec, this.o.identity, new Date(), duration, this.o.pod);
    if (action === 'wait') {
      if (this.leading) {
        this.leading = false;
        this.o.onStoppedLeading();
      }
      return;
    }
    if (action === 'create') {
      await this.o.client.create<Lease>({
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: this.o.name, namespace: this.o.namespace },
        spec,
      });
    } else {
      await this.o.client.request('PUT', this.path(), { body: { ...current!, spec } });
    }
    this.lastRenew = Date.now();
    if (!this.leading) {
      this.leading = true;
      this.o.onStartedLeading();
    }
  }
}
