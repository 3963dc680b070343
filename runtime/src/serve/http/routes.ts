// The router's view of the replicas: the `routes` key of the `<deployment>-routing` ConfigMap (../README.md), polled
// through the API, or a static JSON file/string for local runs and tests. The table and its parse are the pod
// contract's (operator/contract/routes.ts): a bad table is refused whole with a message naming the field; the router
// then keeps the last good one.
import { readFileSync } from 'node:fs';
import { RoutingConfigMap, parseRoutes, type RouteTable } from '../../../../operator/contract/index.js';
import type { ConfigMapStore } from '../../kube/configmaps.js';
import { Poller } from './poll.js';
import type { Log } from './server.js';

export type { RouteEntry, RouteTable } from '../../../../operator/contract/index.js';

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
    const text = data?.[RoutingConfigMap.key];
    if (text === undefined) throw new Error(`ConfigMap ${store.namespace}/${name} has no key "${RoutingConfigMap.key}" yet`);
    if (text === last) return;
    table = parseRoutes(text, `ConfigMap ${store.namespace}/${name} key ${RoutingConfigMap.key}`);
    last = text;
    log({ level: 'info', msg: 'routes changed', model: table.model, prefill: table.prefill.map((e) => e.url), decode: table.decode.map((e) => e.url) });
  }, log);
  await poller.start();
  return { current: () => table, stop: () => poller.stop() };
}
