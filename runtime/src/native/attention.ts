// MLA attention over the compressed KV cache (absorbed form) and the cache's row codecs; see runtime/native/kernels/mla.h.
import { binding } from './binding.js';
import { array, dim, finite } from './check.js';

/** How a cache row stores c_kv | k_pe: f32; bf16; fp8 = E4M3 c_kv with an f32 scale per 128 values, k_pe in bf16. */
export type KvCacheType = 'f32' | 'bf16' | 'fp8';
const KV_CODES: Record<KvCacheType, number> = { f32: 0, bf16: 1, fp8: 2 };

function kvCode(fn: string, t: unknown): number {
  if (typeof t !== 'string' || !Object.hasOwn(KV_CODES, t)) throw new TypeError(`${fn}: cache type must be 'f32', 'bf16' or 'fp8', got ${String(t)}`);
  return KV_CODES[t as KvCacheType];
}

/** Bytes of one cached token (one layer). */
export function kvRowBytes(type: KvCacheType, kr: number, dr: number): number {
  const fn = 'kvRowBytes';
  const code = kvCode(fn, type);
  const r = dim(fn, 'kr', kr), d = dim(fn, 'dr', dr);
  return code === 0 ? 4 * (r + d) : code === 1 ? 2 * (r + d) : r + 4 * Math.ceil(r / 128) + 2 * d;
}

function cacheBytes(fn: string, name: string, c: unknown, rows: number, rb: number): Uint8Array {
  if (!(c instanceof Uint8Array)) throw new TypeError(`${fn}: ${name} must be a Uint8Array`);
  if (c.length < rows * rb) throw new RangeError(`${fn}: ${name} holds ${c.length} bytes; ${rows} rows of ${rb} bytes need ${rows * rb}`);
  return c;
}

/** Encodes n tokens' c_kv [n, kr] and k_pe [n, dr] into rows [pos, pos+n) of a cache. */
export function kvWrite(cache: Uint8Array, type: KvCacheType, kr: number, dr: number, pos: number, n: number, ckv: Float32Array, kpe: Float32Array): void {
  const fn = 'kvWrite';
  const rb = kvRowBytes(type, kr, dr);
  const p = dim(fn, 'pos', pos), N = dim(fn, 'n', n);
  cacheBytes(fn, 'cache', cache, p + N, rb);
  array(fn, 'ckv', ckv, Float32Array, N * kr, `n*kr = ${N}*${kr}`);
  array(fn, 'kpe', kpe, Float32Array, N * dr, `n*dr = ${N}*${dr}`);
  binding().kvWrite(cache, KV_CODES[type], kr, dr, p, N, ckv, kpe);
}

/** Rows [pos, pos+n) of a cache decoded to float32: [n, kr + dr], c_kv then k_pe per row. */
export function kvRead(cache: Uint8Array, type: KvCacheType, kr: number, dr: number, pos: number, n: number): Float32Array {
  const fn = 'kvRead';
  const rb = kvRowBytes(type, kr, dr);
  const p = dim(fn, 'pos', pos), N = dim(fn, 'n', n);
  cacheBytes(fn, 'cache', cache, p + N, rb);
  const out = new Float32Array(N * (kr + dr));
  binding().kvRead(cache, KV_CODES[type], kr, dr, p, N, out);
  return out;
}

export interface MlaAttentionShape {
  H: number;
  dn: number;
  dr: number;
  dv: number;
  kr: number;
  /** Softmax scale (1/sqrt(dn+dr), times YaRN's factor). */
  scale: number;
}

/** One sequence of the batch: n new tokens at batch rows [row0, row0+n), positions [L, L+n) of its cache. */
export interface MlaSegment {
  /** Room for L + n rows of kvRowBytes(type) bytes; rows [L, L+n) are written. */
  cache: Uint8Array;
  type: KvCacheType;
  L: number;
  n: number;
  row0: number;
}

/**
 * Appends every segment's new c_kv / k_pe rows to its cache and attends causally over the cache (absorbed form):
 * q [T, H*(dn+dr)] rotated queries, ckv [T, kr], kpe [T, dr], kvb [H*(dn+dv), kr] → o [T, H*dv] (rows not in a
 * segment stay 0). Segments ascend by row0 and do not overlap; each has its own cache.
 */
/** kv_b's v rows transposed per head, [H][kr][dv]: what mlaAttention's W_uv step reads (compute once per weight). */
export function mlaWuvT(m: MlaAttentionShape, kvb: Float32Array): Float32Array {
  const fn = 'mlaWuvT';
  const H = dim(fn, 'H', m.H), dn = dim(fn, 'dn', m.dn), dv = dim(fn, 'dv', m.dv), kr = dim(fn, 'kr', m.kr);
  array(fn, 'kvb', kvb, Float32Array, H * (dn + dv) * kr, `H*(dn+dv)*kr = ${H}*${dn + dv}*${kr}`);
  const out = new Float32Array(H * kr * dv);
  for (let h = 0; h < H; h++) for (let e = 0; e < dv; e++) for (let c = 0; c < kr; c++) out[(h * kr + c) * dv + e] = kvb[(h * (dn + dv) + dn + e) * kr + c];
  return out;
}

/** wuvT: mlaWuvT(m, kvb), computed here when not given. */
export function mlaAttention(m: MlaAttentionShape, q: Float32Array, ckv: Float32Array, kpe: Float32Array, kvb: Float32Array, segs: MlaSegment[], T: number, wuvT?: Float32Array): Float32Array {
  const fn = 'mlaAttention';
  const H = dim(fn, 'H', m.H), dn = dim(fn, 'dn', m.dn), dr = dim(fn, 'dr', m.dr), dv = dim(fn, 'dv', m.dv), kr = dim(fn, 'kr', m.kr), t = dim(fn, 'T', T);
  const scale = finite(fn, 'scale', m.scale, 0);
  array(fn, 'q', q, Float32Array, t * H * (dn + dr), `T*H*(dn+dr) = ${t}*${H}*${dn + dr}`);
  array(fn, 'ckv', ckv, Float32Array, t * kr, `T*kr = ${t}*${kr}`);
  array(fn, 'kpe', kpe, Float32Array, t * dr, `T*dr = ${t}*${dr}`);
  array(fn, 'kvb', kvb, Float32Array, H * (dn + dv) * kr, `H*(dn+dv)*kr = ${H}*${dn + dv}*${kr}`);
  if (!Array.isArray(segs)) throw new TypeError(`${fn}: segs must be an array of MlaSegment`);
  const S = segs.length;
  const caches: Uint8Array[] = new Array(S);
  const types = new Int32Array(S), L = new Int32Array(S), n = new Int32Array(S), row0 = new Int32Array(S);
  let next = 0;
  for (let i = 0; i < S; i++) {
    const s = segs[i];
    const li = dim(fn, `segs[${i}].L`, s?.L), ni = dim(fn, `segs[${i}].n`, s?.n), ri = dim(fn, `segs[${i}].row0`, s?.row0);
    if (ni < 1) throw new RangeError(`${fn}: segs[${i}].n must be >= 1`);
    if (ri < next || ri + ni > t) throw new RangeError(`${fn}: segs[${i}] rows [${ri}, ${ri + ni}) must lie in [0, T = ${t}) after the previous segment's rows`);
    next = ri + ni;
    if (li + ni > 2 ** 31 - 1) throw new RangeError(`${fn}: segs[${i}].L + n is too large`);
    types[i] = kvCode(fn, s.type);
    caches[i] = cacheBytes(fn, `segs[${i}].cache`, s.cache, li + ni, kvRowBytes(s.type, kr, dr));
    L[i] = li;
    n[i] = ni;
    row0[i] = ri;
  }
  const wt = wuvT ? array(fn, 'wuvT', wuvT, Float32Array, H * kr * dv, `H*kr*dv = ${H}*${kr}*${dv}`) : mlaWuvT(m, kvb);
  const o = new Float32Array(t * H * dv);
  binding().mlaAttention(q, ckv, kpe, kvb, caches, types, L, n, row0, t, H, dn, dr, dv, kr, scale, o, wt);
  return o;
}
