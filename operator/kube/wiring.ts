// The wiring every controller shares (I/O): its informers (one source per watched namespace, watch restarts counted
// and logged), its work-queue controller with the reconcile metrics, a periodic resync of its objects, and starting
// and stopping them together. Knows no kinds: the controller names them (its own registered with registerKinds).
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { Controller, type Reconcile } from './controller.js';
import { EventRecorder } from './events.js';
import { makeInformer, type Informer } from './informer.js';
import type { Logger } from './log.js';
import type { OperatorMetrics } from './metrics.js';
import { pluralOf, registerKinds, resourcePath, type KubeClient } from './rest.js';
import { clampTimerMs } from './timers.js';

export interface WiringOptions {
  kc: KubeConfig;
  client: KubeClient;
  metrics: OperatorMetrics;
  log: Logger;
  /** Watch only these namespaces (one informer source each); all namespaces when undefined. */
  namespaces?: readonly string[] | undefined;
  /** The controller's own kinds (custom resources) and their plurals, registered for REST paths (registerKinds). */
  kinds?: Readonly<Record<string, string>>;
}

/** What main.ts and the tests give a controller's setup. */
export interface SetupOptions {
  kc: KubeConfig;
  client: KubeClient;
  metrics: OperatorMetrics;
  log: Logger;
  workers?: number;
  timeoutMs?: number;
  resyncMs?: number;
  /** Restrict to one namespace (tests); all namespaces when absent. */
  namespace?: string;
  /** Watch only these namespaces (one informer source each; the chart's watchNamespaces); all when absent or empty. */
  namespaces?: readonly string[];
}

/** What the informers hold: the kind's type with the metadata every cached object has. */
export type Cached<T> = T & KubernetesObject & { metadata: any };

/** The work-queue key of a namespaced object. */
export const keyOf = (o: { metadata?: { namespace?: string; name?: string } }): string => `${o.metadata?.namespace}/${o.metadata?.name}`;

export class ControllerWiring {
  readonly informers: Array<Informer<any>> = [];
  private resync: NodeJS.Timeout | undefined;

  constructor(private readonly o: WiringOptions) {
    if (o.kinds) registerKinds(o.kinds);
  }

  /** A cache of a namespaced kind: one source per watched namespace, or one cluster-wide. */
  namespaced<T>(apiVersion: string, kind: string, labelSelector?: string): Informer<Cached<T>> {
    const nss = this.o.namespaces;
    return this.informer<T>(nss ? nss.map((n) => resourcePath(apiVersion, kind, n)) : resourcePath(apiVersion, kind), kind, labelSelector);
  }

  /** A cache of a cluster-scoped kind (nodes, topologies). */
  clusterScoped<T>(apiVersion: string, kind: string): Informer<Cached<T>> {
    return this.informer<T>(resourcePath(apiVersion, kind), kind);
  }

  private informer<T>(paths: string | string[], kind: string, labelSelector?: string): Informer<Cached<T>> {
    const { kc, client, metrics, log } = this.o;
    const resource = pluralOf(kind);
    const inf = makeInformer<Cached<T>>(kc, client, paths, {
      onError: (err: unknown, inMs: number) => {
        metrics.watchRestarts.inc({ resource });
        log.warn('watch failed; restarting', { resource, err: String(err), restartInMs: inMs });
      },
      ...(labelSelector ? { labelSelector } : {}),
    });
    this.informers.push(inf);
    return inf;
  }

  /** The work-queue controller of `kind`: reconciles counted and timed by kind and outcome, failures logged. */
  controller(name: string, kind: string, reconcile: Reconcile, opts: { workers?: number; timeoutMs?: number } = {}): Controller {
    const { metrics, log } = this.o;
    return new Controller(
      {
        name,
        ...opts,
        hooks: {
          onResult: (key, outcome, secs, err) => {
            metrics.reconciles.inc({ kind, outcome });
            metrics.reconcileSeconds.observe({ kind }, secs);
            if (err) log.warn('reconcile failed', { key, kind, outcome, err: String(err) });
          },
        },
      },
      reconcile,
    );
  }

  /** An event recorder under `component` that logs the events it could not record. */
  recorder(component: string): EventRecorder {
    return new EventRecorder(this.o.client, component, (e) => this.o.log.warn('event not recorded', { err: String(e) }));
  }

  /** Maps every change of these caches' objects to the key `<namespace>/<value of label>` of the object that owns
   *  them (objects without the label, or outside the watched namespaces, are ignored). */
  enqueueByLabel(controller: Controller, label: string, ...caches: ReadonlyArray<Informer<any>>): void {
    this.enqueueByLabelAfter(controller, label, 0, ...caches);
  }

  /** As enqueueByLabel, with the changes of `delayMs` after the first one coalesced into one reconcile of the owner
   *  (a gang of hundreds of pods moves on every pod's create, bind and start: not a reconcile each). */
  enqueueByLabelAfter(controller: Controller, label: string, delayMs: number, ...caches: ReadonlyArray<Informer<any>>): void {
    this.enqueue(controller, label, delayMs, false, caches);
  }

  /** As enqueueByLabelAfter, in the work queue's soon lane (the owner's children moved: an object under way is
   *  reconciled before those not started, see workqueue.ts). */
  enqueueByLabelSoon(controller: Controller, label: string, delayMs: number, ...caches: ReadonlyArray<Informer<any>>): void {
    this.enqueue(controller, label, delayMs, true, caches);
  }

  private enqueue(controller: Controller, label: string, delayMs: number, soon: boolean, caches: ReadonlyArray<Informer<any>>): void {
    const nss = this.o.namespaces;
    const h = (x: { metadata?: { namespace?: string; labels?: Record<string, string> } }) => {
      const owner = x.metadata?.labels?.[label];
      if (owner && (!nss || nss.includes(x.metadata?.namespace ?? ''))) controller.queue.addAfter(`${x.metadata?.namespace}/${owner}`, delayMs, soon);
    };
    for (const c of caches) c.onAny(h);
  }

  /** Starts `controller` and queues `keys()` now and, with `resyncMs`, again every `resyncMs` (then calls `onResync`). */
  run(controller: Controller, keys: () => Iterable<string>, resyncMs?: number, onResync?: () => void): void {
    controller.start();
    const all = () => {
      for (const k of keys()) controller.queue.add(k);
    };
    all();
    if (resyncMs === undefined) return;
    this.resync = setInterval(() => {
      all();
      onResync?.();
    }, Math.max(1, clampTimerMs(resyncMs)));
    this.resync.unref();
  }

  /** Starts the caches; resolves once each has listed. */
  async sync(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.start()));
  }

  synced(): boolean {
    return this.informers.every((i) => i.hasSynced());
  }

  /** Stops the resync, then the controller (waiting for reconciles in flight), then the caches. */
  async stop(controller: Controller): Promise<void> {
    clearInterval(this.resync);
    await controller.stop();
    await Promise.all(this.informers.map((i) => i.stop()));
  }
}

/** A controller's setup: its wiring, started, synced and stopped here; the subclass builds its informers, reconciler
 *  and controller, and says in `run` which keys it resyncs. */
export abstract class WiredController {
  abstract readonly controller: Controller;
  protected readonly wiring: ControllerWiring;

  constructor(o: WiringOptions) {
    this.wiring = new ControllerWiring(o);
  }

  get informers(): ReadonlyArray<Informer<any>> {
    return this.wiring.informers;
  }

  /** Starts the caches (waits for them to sync); reconciling starts with `run()` (only on the leader). */
  sync(): Promise<void> {
    return this.wiring.sync();
  }

  synced(): boolean {
    return this.wiring.synced();
  }

  abstract run(): void;

  stop(): Promise<void> {
    return this.wiring.stop(this.controller);
  }
}
