// Events for decisions a person wants to see (gang released, restart, checkpoint). Recorded into a buffer during a
// reconcile and flushed only after the status write succeeded, so a retried reconcile does not repeat them.
// They go out one at a time from a bounded queue, as client-go's broadcaster sends them (one sink goroutine, 1000
// queued, the rest dropped): when a hundred jobs start at once their events trail the reconciles' own writes instead
// of taking the API server's time from them (a fifth of the requests of a one-pod job's start).
import type { KubeClient, KObject } from './rest.js';
import { resourcePath } from './rest.js';

export interface PendingEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

/** Events waiting beyond this many are dropped (reported through onError), as client-go's 1000. */
export const MAX_QUEUED_EVENTS = 1000;

export class EventRecorder {
  private readonly queue: Array<{ obj: KObject; ev: PendingEvent; at: string; done: () => void }> = [];
  private draining = false;

  constructor(
    private readonly client: KubeClient,
    private readonly component: string,
    private readonly onError: (err: unknown) => void = () => undefined,
    private readonly maxQueued = MAX_QUEUED_EVENTS,
  ) {}

  /** Sends one event now; `now` is when it happened (a queued event keeps the time it was decided). */
  async emit(obj: KObject, ev: PendingEvent, now = new Date().toISOString()): Promise<void> {
    const md = obj.metadata ?? {};
    const ns = md.namespace ?? 'default';
    const body = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { generateName: `${md.name}.`, namespace: ns },
      involvedObject: { apiVersion: obj.apiVersion, kind: obj.kind, name: md.name, namespace: md.namespace, uid: md.uid },
      type: ev.type,
      reason: ev.reason,
      message: ev.message.slice(0, 1024),
      source: { component: this.component },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      reportingComponent: this.component,
      reportingInstance: process.env.HOSTNAME ?? this.component,
    };
    try {
      await this.client.request('POST', resourcePath('v1', 'Event', ns), { body });
    } catch (e) {
      this.onError(e);
    }
  }

  /** Queues the events; resolves once they are sent (or dropped). Callers need not wait: the queue sends them in
   *  order, one request at a time. */
  emitAll(obj: KObject, evs: readonly PendingEvent[]): Promise<void> {
    const at = new Date().toISOString();
    const sent = evs.map(
      (ev) =>
        new Promise<void>((done) => {
          if (this.queue.length >= this.maxQueued) {
            this.onError(new Error(`event queue full (${this.maxQueued}); dropped ${ev.reason} for ${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`));
            done();
            return;
          }
          this.queue.push({ obj, ev, at, done });
        }),
    );
    void this.drain();
    return Promise.all(sent).then(() => undefined);
  }

  /** Events queued and not yet sent. */
  pending(): number {
    return this.queue.length;
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      for (let next = this.queue.shift(); next; next = this.queue.shift()) {
        await this.emit(next.obj, next.ev, next.at);
        next.done();
      }
    } finally {
      this.draining = false;
    }
  }
}
