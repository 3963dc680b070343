// The rendezvous store of a distributed job: rank 0 serves it at MASTER_ADDR:MASTER_PORT, every rank (rank 0
// included) connects as a client, says hello and waits for all the others; the error names the ranks that never came.
import { StoreClient } from './rendezvous-client.js';
import { StoreServer } from './rendezvous-server.js';

export { StoreClient } from './rendezvous-client.js';
export { StoreServer } from './rendezvous-server.js';

export interface StoreOptions {
  rank: number;
  worldSize: number;
  masterAddr: string;
  masterPort: number;
  /** Where rank 0 listens: its own address (pod-env.ts storeListenHost), never every interface. */
  listenHost: string;
  /** How long to wait for every rank to arrive. */
  timeoutMs: number;
  /** Heartbeat silence after which a rank is declared stalled. */
  stallMs: number;
}

export interface Store {
  client: StoreClient;
  /** Set on rank 0 only. */
  server?: StoreServer;
}

/** Rank 0 starts the server; every rank connects, says hello, and waits until all `worldSize` ranks have. */
export async function openStore(o: StoreOptions): Promise<Store> {
  let server: StoreServer | undefined;
  if (o.rank === 0) {
    server = await StoreServer.start({
      host: o.listenHost, port: o.masterPort, worldSize: o.worldSize, stallMs: o.stallMs,
    });
  }
  const client = await StoreClient.connect(o.masterAddr, server ? server.port : o.masterPort, o.timeoutMs);
  try {
    await client.hello(o.rank, o.worldSize);
    await rendezvous(client, o.rank, o.worldSize, o.timeoutMs, 'start');
  } catch (e) {
    // Keep serving a moment so that the other ranks, timing out at about the same time, can still ask which
    // ranks are missing instead of seeing the store vanish.
    if (server) {
      await server.waitForDisconnects(2000);
      await server.close();
    }
    throw e;
  }
  return server ? { client, server } : { client };
}

/**
 * Every rank sets `rdzv/<name>/<rank>` and waits for all the others' keys. On timeout the error lists the ranks
 * whose keys are missing.
 */
export async function rendezvous(client: StoreClient, rank: number, worldSize: number, timeoutMs: number,
  name: string): Promise<void> {
  const key = (r: number): string => `rdzv/${name}/${r}`;
  await client.set(key(rank), String(Date.now()));
  const deadline = Date.now() + timeoutMs;
  for (let r = 0; r < worldSize; r++) {
    const left = deadline - Date.now();
    const v = left > 0 ? await client.get(key(r), left) : undefined;
    if (v === undefined) {
      const keys = Array.from({ length: worldSize }, (_, i) => key(i));
      const missing = (await client.missing(keys)).map((k) => Number(k.slice(k.lastIndexOf('/') + 1)));
      throw new Error(
        `rendezvous '${name}' at ${client.address} timed out after ${timeoutMs}ms: ` +
        `rank${missing.length === 1 ? '' : 's'} ${missing.join(', ')} never arrived ` +
        `(${worldSize - missing.length} of ${worldSize} present)`);
    }
  }
}
