// The benches' view of their pods: a watch-fed cache (the operator's own informer type) instead of listing every few
// milliseconds. A list of 256 pods every 50 ms costs the API server a megabyte of JSON each time, and on a 2-core
// machine that load slowed the runs it measured (it was the bench process's largest CPU item, 1.2 s a run).
import type { KubeConfig } from '@kubernetes/client-node';
import type { V1Pod } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeInformer, type Informer } from '../../operator/kube/informer.js';
import { resourcePath, type KubeClient } from '../../operator/kube/rest.js';

export type CachedPod = V1Pod & { metadata: { name: string; labels?: Record<string, string> } };

export async function podCache(kc: KubeConfig, client: KubeClient, namespace: string): Promise<Informer<CachedPod & { apiVersion?: string; kind?: string }>> {
  const inf = makeInformer<CachedPod & { apiVersion?: string; kind?: string }>(kc, client, resourcePath('v1', 'Pod', namespace));
  await inf.start();
  return inf;
}

/** The cache's pods with label `key=value`. */
export function podsWith(cache: Informer<CachedPod>, label: string): CachedPod[] {
  const [k, v] = label.split('=') as [string, string];
  return cache.list().filter((p) => p.metadata.labels?.[k] === v) as CachedPod[];
}

/** Waits (checking the cache every 20 ms) until `done(pods with label)`; `check` runs about once a second. */
export async function waitPods(cache: Informer<CachedPod>, label: string, done: (ps: CachedPod[]) => boolean, timeoutMs: number, what: string, check?: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  let lastCheck = t0;
  for (;;) {
    const ps = podsWith(cache, label);
    if (done(ps)) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) throw new Error(`${what}: not reached after ${timeoutMs} ms (${ps.length} pods ${label})`);
    if (check && performance.now() - lastCheck > 1000) {
      lastCheck = performance.now();
      await check();
    }
    await sleep(20);
  }
}
