// The routers' table of replicas (pure): key `routes` of <deployment>-routing. The operator writes the leader URL of
// every ready replica of each role (controllers/infd/desired.ts routesDocument); the routers poll it
// (runtime/src/serve/http/routes.ts), and a local router reads the same JSON from --routes. A bad table is refused
// whole with a message naming the field (the router then keeps its last good one).

export interface RouteEntry {
  replica: number;
  /** The replica leader's base URL, http://<pod>.<deployment>-pods.<namespace>.svc:<port>, no trailing slash. */
  url: string;
}

export interface RouteTable {
  /** The model name the API serves. */
  model?: string;
  prefill: RouteEntry[];
  decode: RouteEntry[];
}

export const formatRoutes = (t: RouteTable): string => JSON.stringify(t);

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
