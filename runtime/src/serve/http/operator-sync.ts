// A role leader's two exchanges with the operator, both through ConfigMaps (../README.md):
//  - placement: polls `<deployment>-placement`, key = own role, and swaps the engine's expert placement when the
//    version changes (a placement the engine refuses is logged once and the old one stays);
//  - load: every few seconds merge-patches key `<pod name>` of `<deployment>-expert-load` with the cumulative routed
//    tokens per expert and this process's start time (the operator takes differences between reports).
// Both messages are the pod contract's (operator/contract/expert-placement.ts, reports.ts).
import { formatLoadReport, parsePlacement } from '../../../../operator/contract/index.js';
import type { ConfigMapStore } from '../../kube/configmaps.js';
import type { ServeEngine } from '../engine/types.js';
import { Poller } from './poll.js';
import type { Log } from './server.js';

export interface SyncOptions {
  store: ConfigMapStore;
  engine: ServeEngine;
  role: 'prefill' | 'decode';
  log: Log;
  placementConfigMap?: string;
  loadConfigMap?: string;
  podName: string;
  replica: number;
  intervalMs?: number;
}

export class OperatorSync {
  private readonly pollers: Poller[] = [];
  private applied = -1;
  private refused = -1;
  readonly startedAt = new Date().toISOString();

  constructor(private readonly o: SyncOptions) {
    const every = o.intervalMs ?? 5_000;
    const ns = o.store.namespace;
    if (o.placementConfigMap) this.pollers.push(new Poller(`reading placement from ConfigMap ${ns}/${o.placementConfigMap}`, every, () => this.syncPlacement(), o.log));
    if (o.loadConfigMap) this.pollers.push(new Poller(`reporting expert load to ConfigMap ${ns}/${o.loadConfigMap}`, every, () => this.reportLoad(), o.log));
  }

  async start(): Promise<void> {
    await Promise.all(this.pollers.map((p) => p.start()));
  }

  async syncPlacement(): Promise<void> {
    const name = this.o.placementConfigMap!;
    const data = await this.o.store.read(name);
    const text = data?.[this.o.role];
    if (text === undefined) return;
    const { version, gpus, slotsPerGpu, phy2log } = parsePlacement(text, `ConfigMap ${this.o.store.namespace}/${name} key ${this.o.role}`);
    const p = { version, gpus, slotsPerGpu, phy2log }; // what the engine takes
    if (p.version === this.applied || p.version === this.refused) return;
    try {
      this.o.engine.setPlacement(p);
    } catch (e) {
      this.refused = p.version;
      throw new Error(`placement version ${p.version} refused by the engine: ${(e as Error).message}`);
    }
    this.o.log({ level: 'info', msg: 'placement changed', role: this.o.role, from: this.applied, version: p.version, gpus: p.gpus, slotsPerGpu: p.slotsPerGpu });
    this.applied = p.version;
  }

  async reportLoad(): Promise<void> {
    // A data-parallel replica reports the sum over its pods (the last sum; each report asks for the next one).
    const rep = this.o.engine.replicaLoad?.();
    const spec = rep ? rep.speculative : this.o.engine.stats().speculative;
    const body = { role: this.o.role, replica: this.o.replica, startedAt: this.startedAt, counts: rep ? rep.counts : this.o.engine.expertLoad(), ...(spec ? { speculative: spec } : {}) };
    await this.o.store.mergePatch(this.o.loadConfigMap!, { [this.o.podName]: formatLoadReport(body) });
  }

  /** Stops polling; sends a last load report so the counts up to shutdown are not lost. */
  async stop(): Promise<void> {
    await Promise.all(this.pollers.map((p) => p.stop()));
    if (this.o.loadConfigMap) await this.reportLoad().catch((e: Error) => this.o.log({ level: 'warn', msg: 'final load report failed', error: e.message }));
  }
}
