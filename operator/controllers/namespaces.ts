// Which namespaces the controllers watch: the chart's watchNamespaces (WATCH_NAMESPACES, comma-separated), the older
// single watchNamespace, or every namespace. With a list, every namespaced informer has one source per namespace, so
// the operator's RBAC can be Roles in those namespaces only (no cluster-wide pods, Roles or RoleBindings).

/** Pure: the namespaces to watch, or undefined for all. */
export function watchedNamespaces(o: { namespace?: string | undefined; namespaces?: readonly string[] | undefined }): string[] | undefined {
  const list = [...(o.namespaces ?? []), ...(o.namespace ? [o.namespace] : [])].map((n) => n.trim()).filter((n) => n.length > 0);
  return list.length ? [...new Set(list)] : undefined;
}

/** Pure: WATCH_NAMESPACES ("a,b") and WATCH_NAMESPACE ("a") from the environment; undefined watches all. */
export function namespacesFromEnv(env: Record<string, string | undefined>): string[] | undefined {
  return watchedNamespaces({ namespaces: (env.WATCH_NAMESPACES ?? '').split(','), namespace: env.WATCH_NAMESPACE });
}
