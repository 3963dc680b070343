// A thin JSON client over client-node's auth and HTTP stack: any path, server-side apply (also on /status), JSON and
// merge patches, and typed errors that carry the HTTP status. Everything the operator writes goes through here.
import { HttpMethod, IsomorphicFetchHttpLibrary, RequestContext, type KubeConfig } from '@kubernetes/client-node';
import { spans } from './spans.js';

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly statusCode: number,
    readonly reason: string,
    message: string,
    readonly body?: unknown,
  ) {
    super(message);
  }
}

export const isNotFound = (e: unknown): boolean => e instanceof ApiError && e.statusCode === 404;
export const isConflict = (e: unknown): boolean => e instanceof ApiError && e.statusCode === 409;
export const isAlreadyExists = (e: unknown): boolean => e instanceof ApiError && e.statusCode === 409 && e.reason === 'AlreadyExists';
export const isInvalid = (e: unknown): boolean => e instanceof ApiError && e.statusCode === 422;

export interface KObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    finalizers?: string[];
    deletionTimestamp?: string | Date;
    ownerReferences?: Array<{ apiVersion: string; kind: string; name: string; uid: string; controller?: boolean; blockOwnerDeletion?: boolean }>;
    creationTimestamp?: string | Date;
  };
}

export interface KList<T> {
  metadata?: { resourceVersion?: string; continue?: string };
  items: T[];
}

/** Kubernetes' built-in kinds the framework writes or watches. A controller's own kinds are added with registerKinds. */
const PLURALS: Record<string, string> = {
  Pod: 'pods',
  Service: 'services',
  ConfigMap: 'configmaps',
  ServiceAccount: 'serviceaccounts',
  Event: 'events',
  Node: 'nodes',
  Namespace: 'namespaces',
  Role: 'roles',
  RoleBinding: 'rolebindings',
  Lease: 'leases',
};

/** Adds kinds (custom resources) and their plurals; registering a kind again with the same plural is a no-op. */
export function registerKinds(kinds: Readonly<Record<string, string>>): void {
  for (const [kind, plural] of Object.entries(kinds)) {
    const have = PLURALS[kind];
    if (have !== undefined && have !== plural) throw new Error(`registerKinds: ${kind} is registered as ${have}, not ${plural}`);
    PLURALS[kind] = plural;
  }
}

/** The plural of a known kind (the resource name in REST paths and in the watch-restart metric). */
export function pluralOf(kind: string): string {
  const plural = PLURALS[kind];
  if (!plural) throw new Error(`resourcePath: unknown kind ${kind}; add its plural to PLURALS in operator/kube/rest.ts (a built-in kind) or register it with registerKinds (a controller's own kind)`);
  return plural;
}

/** REST path of a collection or object. Pure. */
export function resourcePath(apiVersion: string, kind: string, namespace?: string, name?: string, subresource?: string): string {
  const plural = pluralOf(kind);
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  const ns = namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  const n = name ? `/${encodeURIComponent(name)}` : '';
  const s = subresource ? `/${subresource}` : '';
  return `${base}${ns}/${plural}${n}${s}`;
}

export function pathOf(obj: KObject, subresource?: string): string {
  if (!obj.apiVersion || !obj.kind || !obj.metadata?.name) throw new Error('pathOf: object needs apiVersion, kind and metadata.name');
  return resourcePath(obj.apiVersion, obj.kind, obj.metadata.namespace, obj.metadata.name, subresource);
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
}

export class KubeClient {
  private readonly http = new IsomorphicFetchHttpLibrary();
  private readonly server: string;
  /** Prefix of this client's timing spans (spans.ts; only recorded when enabled). */
  spanName = 'client';
  /** The connection pool every request of this client shares (see auth). */
  private dispatcher: ReturnType<RequestContext['getDispatcher']>;
  /** The auth headers of the last applySecurityAuthentication and when they were taken (see auth). */
  private authCache: { headers: Promise<Record<string, string>>; at: number } | undefined;
  /** How long auth headers are reused. Tokens are re-read this often (client-go re-reads a projected token file
   *  every minute; the kubelet rotates it at 80% of an hour or more), and exec plugins cache their own credentials. */
  static authTtlMs = 10_000;

  /** `fieldManager`: the one field manager of every create, apply and patch (the operator's is api/constants.ts's). */
  constructor(
    readonly kc: KubeConfig,
    readonly fieldManager: string,
    private readonly timeoutMs = 30_000,
  ) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('KubeClient: the kubeconfig has no current cluster');
    this.server = cluster.server.replace(/\/$/, '');
  }

  async request<T>(method: keyof typeof HttpMethod, path: string, opts: RequestOptions = {}): Promise<T> {
    const on = spans.enabled;
    const t0 = on ? performance.now() : 0;
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const ctx = new RequestContext(url.toString(), HttpMethod[method]);
    const auth = await this.auth();
    for (const [k, v] of Object.entries(auth.headers)) ctx.setHeaderParam(k, v);
    if (auth.dispatcher !== undefined) ctx.setDispatcher(auth.dispatcher);
    if (on) spans.end(`${this.spanName}.auth`, t0);
    ctx.setHeaderParam('Accept', 'application/json');
    const t1 = on ? performance.now() : 0;
    if (opts.body !== undefined) {
      ctx.setHeaderParam('Content-Type', opts.contentType ?? 'application/json');
      ctx.setBody(JSON.stringify(opts.body));
      if (on) spans.end(`${this.spanName}.serialize`, t1);
    }
    const timeout = AbortSignal.timeout(this.timeoutMs);
    ctx.setSignal(opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout);
    const t2 = on ? performance.now() : 0;
    const resp = await this.http.send(ctx).toPromise();
    const text = await resp.body.text();
    const t3 = on ? performance.now() : 0;
    if (on) spans.end(`${this.spanName}.send`, t2);
    let data: unknown = undefined;
    try {
      data = text ? JSON.parse(text) : undefined;
    } catch {
      data = text;
    }
    if (on) {
      spans.end(`${this.spanName}.parse`, t3);
      spans.end(`${this.spanName}.request.${method}`, t0);
    }
    if (resp.httpStatusCode >= 400) {
      const st = (data ?? {}) as { reason?: string; message?: string };
      throw new ApiError(resp.httpStatusCode, st.reason ?? '', `${method} ${path}: ${resp.httpStatusCode} ${st.message ?? text}`, data);
    }
    return data as T;
  }

  /**
   * The auth headers and the connection pool for a request. client-node's applySecurityAuthentication re-reads the
   * kubeconfig's credentials and builds a new undici Agent on every call (0.7 ms of CPU per request in the scale
   * bench, and without a kept pool each request would open its own TLS connection, a full handshake on both ends).
   * Here it runs once per authTtlMs: its headers (a token) are reused until then, and its first Agent is kept for the
   * client's life, as client-go's transport keeps its connections.
   */
  private async auth(): Promise<{ headers: Record<string, string>; dispatcher: ReturnType<RequestContext['getDispatcher']> }> {
    const now = performance.now();
    let cache = this.authCache;
    if (!cache || now - cache.at > KubeClient.authTtlMs) {
      // One refresh for all the requests that find the headers stale; a failed one is retried by the next request.
      const headers = (async () => {
        const probe = new RequestContext(this.server, HttpMethod.GET);
        await this.kc.applySecurityAuthentication(probe);
        this.dispatcher ??= probe.getDispatcher();
        return { ...probe.getHeaders() };
      })();
      cache = this.authCache = { headers, at: now };
      headers.catch(() => {
        if (this.authCache?.headers === headers) this.authCache = undefined;
      });
    }
    return { headers: await cache.headers, dispatcher: this.dispatcher };
  }

  get<T>(path: string, signal?: AbortSignal): Promise<T> {
    return this.request<T>('GET', path, signal ? { signal } : {});
  }

  list<T>(path: string, query: RequestOptions['query'] = {}, signal?: AbortSignal): Promise<KList<T>> {
    return this.request<KList<T>>('GET', path, signal ? { query, signal } : { query });
  }

  create<T extends KObject>(obj: T, signal?: AbortSignal): Promise<T> {
    const p = resourcePath(obj.apiVersion!, obj.kind!, obj.metadata?.namespace);
    return this.request<T>('POST', p, { body: obj, query: { fieldManager: this.fieldManager }, ...(signal ? { signal } : {}) });
  }

  /** Server-side apply under the client's one field manager. `force` takes over conflicting fields. */
  apply<T extends KObject>(obj: T, opts: { subresource?: string; force?: boolean; signal?: AbortSignal } = {}): Promise<T> {
    return this.request<T>('PATCH', pathOf(obj, opts.subresource), {
      body: obj,
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager: this.fieldManager, force: opts.force ?? true },
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  }

  jsonPatch<T>(path: string, ops: unknown[], signal?: AbortSignal): Promise<T> {
    return this.request<T>('PATCH', path, {
      body: ops,
      contentType: 'application/json-patch+json',
      query: { fieldManager: this.fieldManager },
      ...(signal ? { signal } : {}),
    });
  }

  mergePatch<T>(path: string, patch: unknown, signal?: AbortSignal): Promise<T> {
    return this.request<T>('PATCH', path, {
      body: patch,
      contentType: 'application/merge-patch+json',
      query: { fieldManager: this.fieldManager },
      ...(signal ? { signal } : {}),
    });
  }

  /** Deletes; a missing object is not an error. */
  async delete(path: string, opts: { propagationPolicy?: 'Background' | 'Foreground' | 'Orphan'; gracePeriodSeconds?: number; uid?: string; signal?: AbortSignal } = {}): Promise<void> {
    const body: Record<string, unknown> = { kind: 'DeleteOptions', apiVersion: 'v1' };
    if (opts.propagationPolicy) body.propagationPolicy = opts.propagationPolicy;
    if (opts.gracePeriodSeconds !== undefined) body.gracePeriodSeconds = opts.gracePeriodSeconds;
    if (opts.uid) body.preconditions = { uid: opts.uid };
    try {
      await this.request('DELETE', path, { body, ...(opts.signal ? { signal: opts.signal } : {}) });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}
