// The router's view of the replicas: the `routes` key of the `<deployment>-routing` ConfigMap (../README.md), polled
// through the API, or a static JSON file/string for local runs and tests. A bad table is refused whole with a
// message naming the field; the router then keeps the last good one.
import { readFileSync } from 'node:fs';
import type { ConfigMapStore } from '../../kube/configmaps.js';
import { Poller } from './poll.js';
import type { Log } from './server.js';

export interface RouteEntry { replica: number; url: string }
export interface RouteTable { model?: string; prefill: RouteEntry[]; decode: RouteEntry[] }

function entries(v: unknown, field: string, source: string): RouteEntry[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new Error(`${source}: ${field} must be an array of {replica, url}`);
  return v.map((e, i) => {
    const r = e as { replica?: unknown; url?: unknown };
    if (!r || typeof r !== 'object') throw new Error(`${source}: ${field}[${i}] must be an object {replica, url}`);
    if (typeof r.replica !== 'number' || !Number.isInteger(r.replica) || r.replica < 0) throw new Error(`${source}: ${field}[${i}].replica must be an integer >= 0, got ${JSON.stringify(r.replica)}`);
    if (typeof r.url !== 'string' || !/^https?:\/\/[^/]+/.test(r.url)) throw new Error(`${source}: ${field}[${i}].url must be an http(s) URL like http://10.0.0.5:8000, got ${JSON.stringify(r.url)}`);
    return { replica: r.replica, url: r.url.replace(/\/+$/, '') };
  });
}

export function parseRoutes(text: string, source: string): RouteTable {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source}: not JSON (${(e as Error).message}); expected {"model", "prefill": [{replica, url}], "decode": [...]}`);
  }
  if (!j || typeof j !== 'object' || Array.isArray(j)) throw new Error(`${source}: must be a JSON object {"model", "prefill", "decode"}`);
  const o = j as Record<string, unknown>;
  if (o.model !== undefined && typeof o.model !== 'string') throw new Error(`${source}: model must be a string`);
  return { model: o.model as string | undefined, prefill: entries(o.prefill, 'prefill', source), decode: entries(o.decode, 'decode', source) };
}

export interface RouteSource {
  current(): RouteTable;
  stop(): Promise<void>;
}

const EMPTY: RouteTable = { prefill: [], decode: [] };

/** `--routes`: a file path, or the JSON itself when it starts with `{`. */
export function staticRoutes(fileOrJson: string): RouteSource {
  const text = fileOrJson.trimStart().startsWith('{') ? fileOrJson : readFileSync(fileOrJson, 'utf8');
  const table = parseRoutes(text, fileOrJson.trimStart().startsWith('{') ? '--routes' : fileOrJson);
  return { current: () => table, stop: async () => {} };
}

/** A table that tests and the benchmark change at will. */
export function fixedRoutes(table: RouteTable): RouteSource & { set(t: RouteTable): void } {
  let t = table;
  return { current: () => t, set: (n) => { t = n; }, stop: async () => {} };
}

/** Polls `data.routes` of the routing ConfigMap. */
export async function configMapRoutes(store: ConfigMapStore, name: string, intervalMs: number, log: Log): Promise<RouteSource> {
  let table = EMPTY;
  let last = '';
  const poller = new Poller(`reading routes from ConfigMap ${store.namespace}/${name}`, intervalMs, async () => {
    const data = await store.read(name);
    const text = data?.routes;
    if (text === undefined) throw new Error(`ConfigMap ${store.namespace}/${name} has no key "routes" yet`);
    if (text === last) return;
    table = parseRoutes(text, `ConfigMap ${store.namespace}/${name} key routes`);
    last = text;
    log({ level: 'info', msg: 'routes changed', model: table.model, prefill: table.prefill.map((e) => e.url), decode: table.decode.map((e) => e.url) });
  }, log);
  await poller.start();
  return { current: () => table, stop: () => poller.stop() };
}
