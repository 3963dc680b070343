// An informer cache for a controller: list, then watch from the list's resourceVersion, and keep a store that always
// holds the last good state.
// - After a watch error or a stall the informer relists with exponential backoff, and the store keeps serving the
//   previous objects until that list has returned; then it is replaced in one step (no await in between) and the
//   differences are delivered as adds, updates and deletes. A cache that empties during a relist makes a controller
//   conclude that pods, nodes and topologies vanished (seen: healthy gangs restarted after a 5 s API-server outage).
// - A watch that ends normally or times out (client-node's 30 s inactivity timeout) resumes from the last
//   resourceVersion; `410 Gone` relists at once.
// - `hasSynced()` turns true with the first list and stays true: the store is complete from then on, at worst stale.
// - Several sources (one per watched namespace) each run this loop with their own store; readers see the union.
// The pure pieces (store diff, watch-event application, what to do after a watch ends) are exported for tests.
import { Watch, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import { spans } from './spans.js';
import type { KubeClient } from './rest.js';
import { clampTimerMs } from './timers.js';
import { backoffDelay } from './workqueue.js';

export type Handler<T> = (obj: T) => void;

/** The slice of client-node's Watch the informer uses; tests pass a fake. */
export interface WatchLike {
  watch(
    path: string,
    query: Record<string, string | number | boolean | undefined>,
    cb: (phase: string, obj: any) => void,
    done: (err: any) => void,
  ): Promise<AbortController>;
}

export interface InformerOptions<T> {
  /** One source: path and list. */
  path?: string;
  list?: () => Promise<KubernetesListObject<T & KubernetesObject>>;
  /** Several sources (one per watched namespace) instead of path and list. */
  sources?: ListSource<T>[];
  labelSelector?: string;
  watch: WatchLike;
  stallMs?: number;
  restartBaseMs?: number;
  restartMaxMs?: number;
  onError?: (err: unknown, restartInMs: number) => void;
}

/** namespace ('' for cluster-scoped) → name → object. */
export type Store<T> = Map<string, Map<string, T>>;

type Meta = { metadata?: { name?: string; namespace?: string; resourceVersion?: string } };

export interface RelistResult<T> {
  store: Store<T>;
  added: T[];
  updated: T[];
  deleted: T[];
}

/** Pure: the store a list yields, and what changed against `old` (an unchanged resourceVersion is no update). */
export function relistDiff<T extends Meta>(old: Store<T>, items: readonly T[]): RelistResult<T> {
  const store: Store<T> = new Map();
  const added: T[] = [];
  const updated: T[] = [];
  for (const o of items) {
    const ns = o.metadata?.namespace ?? '';
    const name = o.metadata?.name ?? '';
    let m = store.get(ns);
    if (!m) store.set(ns, (m = new Map()));
    m.set(name, o);
    const prev = old.get(ns)?.get(name);
    if (!prev) added.push(o);
    else if (prev.metadata?.resourceVersion !== o.metadata?.resourceVersion || o.metadata?.resourceVersion === undefined) updated.push(o);
  }
  const deleted: T[] = [];
  for (const [ns, m] of old) for (const [name, o] of m) if (!store.get(ns)?.has(name)) deleted.push(o);
  return { store, added, updated, deleted };
}

/** Pure on the store it is given: applies one watch event in place; returns the handler verb to call, if any. */
export function applyWatchEvent<T extends Meta>(store: Store<T>, type: string, o: T): 'add' | 'update' | 'delete' | undefined {
  const ns = o.metadata?.namespace ?? '';
  const name = o.metadata?.name ?? '';
  const m = store.get(ns);
  if (type === 'DELETED') {
    if (!m?.delete(name)) return undefined;
    if (m.size === 0) store.delete(ns);
    return 'delete';
  }
  if (type !== 'ADDED' && type !== 'MODIFIED') return undefined;
  const prev = m?.get(name);
  if (prev && prev.metadata?.resourceVersion !== undefined && prev.metadata.resourceVersion === o.metadata?.resourceVersion) return undefined;
  if (m) m.set(name, o);
  else store.set(ns, new Map([[name, o]]));
  return prev ? 'update' : 'add';
}

export interface WatchEnd {
  err?: unknown;
  /** The server said the resourceVersion is too old (410 Gone), in an ERROR event or as the status. */
  gone?: boolean;
  /** The informer's watchdog ended it: nothing arrived for stallMs. */
  stalled?: boolean;
  /** Events (bookmarks included) the watch delivered. */
  events?: number;
}

/**
 * Pure: what follows a watch that ended. `rewatch` resumes from the last resourceVersion (a normal close or a
 * client-side inactivity timeout); `relist` lists again at once (410 Gone); `backoff` relists after a backoff (any
 * other error: connection refused while the API server restarts, a stall, a 5xx).
 */
export function afterWatch(end: WatchEnd): 'rewatch' | 'relist' | 'backoff' {
  const e = end.err as { statusCode?: number; code?: number; name?: string } | null | undefined;
  if (end.gone || e?.statusCode === 410 || e?.code === 410) return 'relist';
  if (end.stalled) return 'backoff';
  if (!e) return 'rewatch';
  if (e.name === 'TimeoutError') return 'rewatch';
  return 'backoff';
}

/** One list+watch source: a path (a namespace, or the whole cluster) and how to list it. */
export interface ListSource<T> {
  path: string;
  list: () => Promise<KubernetesListObject<T & KubernetesObject>>;
}

/**
 * The cache over one or more sources (one per watched namespace, or one cluster-wide); each source has its own
 * list/watch loop and store, and readers see their union.
 */
export class Informer<T extends KubernetesObject> {
  private readonly reflectors: Reflector<T>[];
  private watchdog: NodeJS.Timeout | undefined;
  readonly handlers: { add: Handler<T>[]; update: Handler<T>[]; delete: Handler<T>[] } = { add: [], update: [], delete: [] };
  /** Relists after an error or a stall; for metrics and tests. */
  restarts = 0;
  /** Successful lists; a relist after a 410 Gone or an error shows up here. */
  lists = 0;

  constructor(readonly opts: InformerOptions<T>) {
    const sources = opts.sources ?? (opts.path !== undefined && opts.list ? [{ path: opts.path, list: opts.list }] : []);
    if (sources.length === 0) throw new Error('Informer: give path and list, or sources');
    this.reflectors = sources.map((src) => new Reflector<T>(this, src));
  }

  on(verb: 'add' | 'update' | 'delete', h: Handler<T>): void {
    this.handlers[verb].push(h);
  }

  /** Calls `h` for adds, updates and deletes. */
  onAny(h: Handler<T>): void {
    this.on('add', h);
    this.on('update', h);
    this.on('delete', h);
  }

  get(name: string, namespace?: string): T | undefined {
    for (const r of this.reflectors) {
      const o = r.store.get(namespace ?? '')?.get(name);
      if (o) return o;
    }
    return undefined;
  }

  list(namespace?: string): ReadonlyArray<T> {
    const all: T[] = [];
    for (const r of this.reflectors) {
      if (namespace !== undefined && namespace !== '') all.push(...(r.store.get(namespace)?.values() ?? []));
      else for (const m of r.store.values()) all.push(...m.values());
    }
    return all;
  }

  /** True once every source has listed; the store is complete from then on (at worst stale while relisting). */
  hasSynced(): boolean {
    return this.reflectors.every((r) => r.synced);
  }

  /** Starts the list+watch loops; resolves once every source holds a first list (retrying with backoff meanwhile). */
  async start(): Promise<void> {
    const stallMs = this.opts.stallMs ?? 120_000;
    clearInterval(this.watchdog);
    this.watchdog = setInterval(() => {
      for (const r of this.reflectors) r.checkStall(stallMs);
    }, Math.max(50, clampTimerMs(stallMs / 4)));
    this.watchdog.unref();
    await Promise.all(this.reflectors.map((r) => r.start()));
  }

  async stop(): Promise<void> {
    clearInterval(this.watchdog);
    await Promise.all(this.reflectors.map((r) => r.stop()));
  }
}

/** One source's list/watch loop and store. */
class Reflector<T extends KubernetesObject> {
  store: Store<T> = new Map();
  synced = false;
  private resourceVersion = '';
  private stopped = true;
  private failures = 0;
  /** Consecutive watches that closed at once without an error or an event (backed off so they cannot spin). */
  private quickCloses = 0;
  private lastActivity = Date.now();
  private wake: (() => void) | undefined;
  private endWatch: ((end: WatchEnd) => void) | undefined;
  private abort: AbortController | undefined;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly inf: Informer<T>,
    private readonly src: ListSource<T>,
  ) {}

  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    this.lastActivity = Date.now();
    this.loop = this.run();
    while (!this.synced && !this.stopped) await new Promise((r) => setTimeout(r, 20));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.finishWatch({});
    this.wake?.();
    await this.loop;
  }

  checkStall(stallMs: number): void {
    if (this.endWatch && Date.now() - this.lastActivity > stallMs) this.finishWatch({ stalled: true, err: new Error(`no watch event or reconnect for ${stallMs} ms`) });
  }

  private async run(): Promise<void> {
    let needList = true;
    while (!this.stopped) {
      if (needList) {
        let l: KubernetesListObject<T & KubernetesObject>;
        try {
          l = await this.src.list();
        } catch (err) {
          await this.backoff(err);
          continue;
        }
        if (this.stopped) return;
        this.replace(l.items as T[]);
        this.resourceVersion = l.metadata?.resourceVersion ?? '';
        this.synced = true;
        this.inf.lists++;
        this.failures = 0;
        needList = false;
      }
      const startedAt = Date.now();
      const end = await this.watchOnce();
      if (this.stopped) return;
      const next = afterWatch(end);
      if (next === 'relist') {
        needList = true;
      } else if (next === 'backoff') {
        this.inf.restarts++;
        await this.backoff(end.err);
        needList = true;
      } else if (Date.now() - startedAt < 1000 && !end.events) {
        await this.sleep(backoffDelay(++this.quickCloses, 200, 5000));
      } else {
        this.quickCloses = 0;
      }
    }
  }

  /** The list replaces the store in one step; only then are the differences delivered. */
  private replace(items: readonly T[]): void {
    const r = relistDiff(this.store as Store<T & Meta>, items as ReadonlyArray<T & Meta>);
    this.store = r.store as Store<T>;
    this.lastActivity = Date.now();
    const hs = this.inf.handlers;
    for (const o of r.deleted) for (const h of hs.delete) h(o);
    for (const o of r.added) for (const h of hs.add) h(o);
    for (const o of r.updated) for (const h of hs.update) h(o);
  }

  private watchOnce(): Promise<WatchEnd> {
    return new Promise<WatchEnd>((resolve) => {
      let gone = false;
      let events = 0;
      let errEvent: unknown;
      this.endWatch = (end) => {
        this.endWatch = undefined;
        this.abort?.abort();
        this.abort = undefined;
        resolve({ ...end, events, gone: gone || !!end.gone, err: end.err ?? errEvent });
      };
      const done = (err: unknown) => this.finishWatch({ err: err ?? undefined });
      const query: Record<string, string | boolean> = { resourceVersion: this.resourceVersion, allowWatchBookmarks: true };
      if (this.inf.opts.labelSelector) query.labelSelector = this.inf.opts.labelSelector;
      const onEvent = (type: string, o: any) => {
        this.lastActivity = Date.now();
        events++;
        if (type === 'ERROR') {
          // A Status object: 410 means our resourceVersion was compacted away; anything else ends the watch too.
          if (o?.code === 410) gone = true;
          else errEvent = Object.assign(new Error(`watch error event: ${o?.message ?? JSON.stringify(o)}`), { statusCode: o?.code });
          this.finishWatch({});
          return;
        }
        const rv = o?.metadata?.resourceVersion;
        if (type !== 'BOOKMARK') {
          if (spans.enabled && type === 'ADDED') spans.seen(`informer.lag.${o?.kind ?? 'object'}`, `${(o?.kind ?? '').toLowerCase()}/${o?.metadata?.namespace}/${o?.metadata?.name}`);
          const verb = applyWatchEvent(this.store as Store<T & Meta>, type, o);
          if (verb) for (const h of this.inf.handlers[verb]) h(o);
        }
        if (rv) this.resourceVersion = rv;
      };
      this.lastActivity = Date.now();
      this.inf.opts.watch.watch(this.src.path, query, onEvent, done).then(
        (ac) => {
          if (this.endWatch) this.abort = ac;
          else ac.abort(); // it ended before the request handle came back
        },
        (err: unknown) => done(err),
      );
    });
  }

  private finishWatch(end: WatchEnd): void {
    this.endWatch?.(end);
  }

  private async backoff(err: unknown): Promise<void> {
    if (this.stopped) return;
    this.failures++;
    const delay = backoffDelay(this.failures, this.inf.opts.restartBaseMs ?? 500, this.inf.opts.restartMaxMs ?? 30_000);
    this.inf.opts.onError?.(err, delay);
    await this.sleep(delay);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(done, clampTimerMs(ms));
      t.unref();
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    }).finally(() => {
      this.wake = undefined;
    });
  }
}


/** Whether every cache has listed once; a reconcile that would conclude "missing" from one that has not waits. */
export function allSynced(...caches: ReadonlyArray<{ hasSynced(): boolean }>): boolean {
  return caches.every((c) => c.hasSynced());
}

/** An informer over a real API server: one path, or one per watched namespace. */
export function makeInformer<T extends KubernetesObject>(
  kc: KubeConfig,
  client: KubeClient,
  paths: string | readonly string[],
  opts: Partial<Omit<InformerOptions<T>, 'path' | 'list' | 'watch' | 'sources'>> = {},
): Informer<T> {
  const query = opts.labelSelector ? { labelSelector: opts.labelSelector } : {};
  const sources = (typeof paths === 'string' ? [paths] : paths).map((path) => ({
    path,
    list: () => client.list<T>(path, query) as unknown as Promise<KubernetesListObject<T & KubernetesObject>>,
  }));
  return new Informer<T>({ ...opts, sources, watch: new Watch(kc) });
}
