// Brings a rank into the job: reads the pod contract, opens the rendezvous store (rank 0 serves it), starts the
// watchdog, connects the world group, and builds sub-groups on demand. I/O wiring only.
import os from 'node:os';
import { readDistEnv, storeListenHost, type DistEnv } from './pod-env.js';
import { openStore, rendezvous, type Store } from './rendezvous.js';
import { ProcessGroup, type GroupSpec } from './process-group.js';
import { Watchdog } from './watchdog.js';

export interface DistOptions {
  /** Rendezvous and per-operation timeout (MOE_DIST_TIMEOUT_MS, default 60 s). */
  timeoutMs: number;
  /** Heartbeat silence that declares a rank stalled (MOE_DIST_STALL_MS, default 30 s). */
  stallMs: number;
  /** Heartbeat period (default stallMs / 5). */
  heartbeatMs: number;
  /** Wait for the store's verdict after a local error (default 2 s). */
  graceMs: number;
  onFatal?: (message: string) => void;
}

export function distOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): DistOptions {
  const num = (name: string, dflt: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return dflt;
    const v = Number(raw);
    if (!(v > 0)) throw new Error(`${name} must be a positive number of milliseconds, got '${raw}'`);
    return v;
  };
  const stallMs = num('MOE_DIST_STALL_MS', 30_000);
  return {
    timeoutMs: num('MOE_DIST_TIMEOUT_MS', 60_000), stallMs,
    heartbeatMs: num('MOE_DIST_HEARTBEAT_MS', Math.max(10, stallMs / 5)), graceMs: num('MOE_DIST_GRACE_MS', 2_000),
  };
}

export class Dist {
  private readonly groups: ProcessGroup[] = [];

  constructor(readonly env: DistEnv, readonly opts: DistOptions, readonly store: Store, readonly watchdog: Watchdog,
    readonly world: ProcessGroup) {
    this.groups.push(world);
  }

  get rank(): number {
    return this.env.rank;
  }

  get size(): number {
    return this.env.worldSize;
  }

  /** Every member calls this with the same spec; non-members must not. */
  async group(spec: GroupSpec): Promise<ProcessGroup> {
    const g = await ProcessGroup.connect({
      spec, globalRank: this.env.rank, storeHost: this.env.masterAddr, storePort: this.storePort(),
      hostAddr: this.env.hostAddr, timeoutMs: this.opts.timeoutMs,
    });
    this.groups.push(g);
    return g;
  }

  private storePort(): number {
    return this.store.server ? this.store.server.port : this.env.masterPort;
  }

  /** Runs `fn`; any error ends the job through the watchdog (naming the lost rank where the store knows it). */
  async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      await this.watchdog.fail(e as Error);
      throw e;
    }
  }

  /** A normal end: a last rendezvous, goodbye to the store, rank 0 waits for everyone's goodbye. */
  async shutdown(): Promise<void> {
    await rendezvous(this.store.client, this.env.rank, this.env.worldSize, this.opts.timeoutMs, 'end');
    this.watchdog.stop();
    for (const g of this.groups) g.close();
    await this.store.client.close();
    if (this.store.server) {
      await this.store.server.waitForByes(this.opts.timeoutMs);
      await this.store.server.close();
    }
  }
}

export async function initDistributed(env: DistEnv = readDistEnv(process.env, os.hostname()),
  opts: DistOptions = distOptionsFromEnv()): Promise<Dist> {
  const store = await openStore({
    rank: env.rank, worldSize: env.worldSize, masterAddr: env.masterAddr, masterPort: env.masterPort,
    listenHost: storeListenHost(env), timeoutMs: opts.timeoutMs, stallMs: opts.stallMs,
  });
  const watchdog = new Watchdog(store.client, {
    rank: env.rank, heartbeatMs: opts.heartbeatMs, graceMs: opts.graceMs, ...(opts.onFatal ? { onFatal: opts.onFatal } : {}),
  });
  const world = await ProcessGroup.connect({
    spec: { name: 'world', ranks: Array.from({ length: env.worldSize }, (_, i) => i) }, globalRank: env.rank,
    storeHost: env.masterAddr, storePort: store.server ? store.server.port : env.masterPort, hostAddr: env.hostAddr,
    timeoutMs: opts.timeoutMs,
  });
  return new Dist(env, opts, store, watchdog, world);
}
