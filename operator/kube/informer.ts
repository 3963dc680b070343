// An informer cache over client-node's ListWatch, hardened for a controller:
// - ListWatch relists on `410 Gone` and reconnects on watch timeouts by itself; on any other error it stops, so we
//   restart it with exponential backoff (a dropped connection or an API server restart never ends the cache);
// - a stalled watch (no connect and no event for `stallMs`, longer than client-node's 30 s inactivity timeout) is
//   torn down and restarted from a fresh list;
// - `start()` resolves once the first list has landed (the cache is synced).
import { ListWatch, Watch, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import type { KubeClient } from './rest.js';
import { backoffDelay } from './workqueue.js';

export type Handler<T> = (obj: T) => void;

/** The slice of client-node's Watch that ListWatch uses; tests pass a fake. */
export interface WatchLike {
  watch(
    path: string,
    query: Record<string, string | number | boolean | undefined>,
    cb: (phase: string, obj: any) => void,
    done: (err: any) => void,
  ): Promise<AbortController>;
}

export interface InformerOptions<T> {
  path: string;
  labelSelector?: string;
  list: () => Promise<KubernetesListObject<T & KubernetesObject>>;
  watch: WatchLike;
  stallMs?: number;
  restartBaseMs?: number;
  restartMaxMs?: number;
  onError?: (err: unknown, restartInMs: number) => void;
}

export class Informer<T extends KubernetesObject> {
  private lw: ListWatch<T>;
  private synced = false;
  private stopped = false;
  private failures = 0;
  private lastActivity = Date.now();
  private restartTimer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private readonly handlers: { add: Handler<T>[]; update: Handler<T>[]; delete: Handler<T>[] } = { add: [], update: [], delete: [] };
  /** Times the underlying ListWatch was restarted (errors + stalls); for metrics and tests. */
  restarts = 0;
  /** Successful lists; a relist after a 410 Gone or a restart shows up here. */
  lists = 0;

  constructor(private readonly opts: InformerOptions<T>) {
    this.lw = this.makeListWatch();
  }

  private makeListWatch(): ListWatch<T> {
    const listFn = async () => {
      const l = await this.opts.list();
      this.synced = true;
      this.lists++;
      this.failures = 0;
      this.lastActivity = Date.now();
      return l as KubernetesListObject<T>;
    };
    const lw = new ListWatch<T>(this.opts.path, this.opts.watch as unknown as Watch, listFn, false, this.opts.labelSelector);
    const touch = () => {
      this.lastActivity = Date.now();
    };
    lw.on('connect', touch);
    lw.on('add', (o) => {
      touch();
      for (const h of this.handlers.add) h(o);
    });
    lw.on('update', (o) => {
      touch();
      for (const h of this.handlers.update) h(o);
    });
    lw.on('delete', (o) => {
      touch();
      for (const h of this.handlers.delete) h(o);
    });
    lw.on('error', (err) => this.scheduleRestart(err));
    return lw;
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
    return this.lw.get(name, namespace);
  }

  list(namespace?: string): ReadonlyArray<T> {
    return this.lw.list(namespace);
  }

  hasSynced(): boolean {
    return this.synced;
  }

  /** Starts the list+watch; resolves once the cache holds a first list (retrying with backoff meanwhile). */
  async start(): Promise<void> {
    this.stopped = false;
    const stallMs = this.opts.stallMs ?? 120_000;
    this.watchdog = setInterval(() => {
      if (!this.stopped && Date.now() - this.lastActivity > stallMs) void this.restart('stalled watch');
    }, Math.max(50, stallMs / 4));
    this.watchdog.unref();
    await this.lw.start();
    while (!this.synced && !this.stopped) await new Promise((r) => setTimeout(r, 20));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.watchdog);
    clearTimeout(this.restartTimer);
    await this.lw.stop();
  }

  private scheduleRestart(err: unknown): void {
    if (this.stopped) return;
    this.failures++;
    const delay = backoffDelay(this.failures, this.opts.restartBaseMs ?? 500, this.opts.restartMaxMs ?? 30_000);
    this.opts.onError?.(err, delay);
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => void this.restart(String(err)), delay);
    this.restartTimer.unref();
  }

  /** Replaces the ListWatch (keeping handlers); the new one relists, and deletes seen in between are delivered. */
  private async restart(_why: string): Promise<void> {
    if (this.stopped) return;
    this.restarts++;
    this.lastActivity = Date.now();
    const old = this.lw;
    const before = new Map(old.list().map((o) => [`${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`, o]));
    await old.stop();
    this.lw = this.makeListWatch();
    // Seed nothing: the fresh list re-adds every object; we emit deletes for what vanished meanwhile.
    const seen = new Set<string>();
    const mark = (o: T) => seen.add(`${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`);
    this.lw.on('add', mark);
    const listsBefore = this.lists;
    await this.lw.start();
    if (this.lists > listsBefore) {
      for (const [k, o] of before) if (!seen.has(k)) for (const h of this.handlers.delete) h(o);
    }
    this.lw.off('add', mark);
  }
}

/** An informer over a real API server. */
export function makeInformer<T extends KubernetesObject>(
  kc: KubeConfig,
  client: KubeClient,
  path: string,
  opts: Partial<Omit<InformerOptions<T>, 'path' | 'list' | 'watch'>> = {},
): Informer<T> {
  const query = opts.labelSelector ? { labelSelector: opts.labelSelector } : {};
  return new Informer<T>({
    ...opts,
    path,
    list: () => client.list<T>(path, query) as unknown as Promise<KubernetesListObject<T>>,
    watch: new Watch(kc),
  });
}
