// The pods' one way to the API server: read and merge-patch ConfigMaps of their own namespace with the pod's
// ServiceAccount token (least privilege: each role may touch only the ConfigMaps the operator's RBAC names, see
// operator/controllers/mtj/README.md and ../serve/README.md). Used by training's rank 0 (parallel/progress-report.ts),
// by the serving pods (serve/http/operator-sync.ts, serve/http/routes.ts) and by evaluation pods (eval/main.ts); names
// and payloads: operator/contract/.
import { CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { RankEnv } from '../../../operator/contract/index.js';

export interface ConfigMapStore {
  readonly namespace: string;
  /** The ConfigMap's data; undefined when it does not exist (yet). */
  read(name: string): Promise<Record<string, string> | undefined>;
  /** JSON merge patch of `data`: only the given keys change. */
  mergePatch(name: string, data: Record<string, string>): Promise<void>;
}

/**
 * The store for a pod inside the cluster; undefined when not in one (no KUBERNETES_SERVICE_HOST or MOE_NAMESPACE).
 * The API server's address comes from process.env (client-node's loadFromCluster reads it there), as in every pod.
 */
export function inClusterConfigMaps(env: NodeJS.ProcessEnv): ConfigMapStore | undefined {
  const namespace = env[RankEnv.namespace];
  if (!namespace || !env.KUBERNETES_SERVICE_HOST) return undefined;
  const kc = new KubeConfig();
  // MOE_POD_ROOT: where the pod's files are when the local cluster's process runner runs it (unset in real pods).
  kc.loadFromCluster(env.MOE_POD_ROOT ?? '');
  const api = kc.makeApiClient(CoreV1Api);
  return {
    namespace,
    async read(name) {
      try {
        const cm = await api.readNamespacedConfigMap({ name, namespace });
        return cm.data ?? {};
      } catch (e) {
        if ((e as { code?: number }).code === 404) return undefined;
        throw e;
      }
    },
    async mergePatch(name, data) {
      await api.patchNamespacedConfigMap({ name, namespace, body: { data } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    },
  };
}
