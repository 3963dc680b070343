// Events for decisions a person wants to see (gang released, restart, checkpoint). Recorded into a buffer during a
// reconcile and flushed only after the status write succeeded, so a retried reconcile does not repeat them.
import type { KubeClient, KObject } from './rest.js';
import { resourcePath } from './rest.js';

export interface PendingEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export class EventRecorder {
  constructor(
    private readonly client: KubeClient,
    private readonly component: string,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {}

  async emit(obj: KObject, ev: PendingEvent): Promise<void> {
    const md = obj.metadata ?? {};
    const ns = md.namespace ?? 'default';
    const now = new Date().toISOString();
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

  async emitAll(obj: KObject, evs: readonly PendingEvent[]): Promise<void> {
    for (const ev of evs) await this.emit(obj, ev);
  }
}
