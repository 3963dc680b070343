// OCP float8 E4M3 (e4m3fn: bias 7, max 448, no infinities, NaN = S.1111.111) and bfloat16 codecs in TypeScript,
// plus the recipe's block quantisation. Used for the inference export and as the fallback when the addon is absent.
export const E4M3_MAX = 448;

function rne(y: number): number {
  const f = Math.floor(y);
  const r = y - f;
  if (r > 0.5 || (r === 0.5 && f % 2 !== 0)) return f + 1;
  return f;
}

/** Saturating round-to-nearest-even encode. */
export function encodeE4M3(v: number): number {
  if (Number.isNaN(v)) return 0x7f;
  const sign = v < 0 || Object.is(v, -0) ? 0x80 : 0;
  const a = Math.abs(v);
  if (a >= E4M3_MAX) return sign | 0x7e;
  if (a < 2 ** -6) return sign | rne(a * 2 ** 9); // subnormal (8 rounds up into the smallest normal, code 0x08)
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e -= 1;
  else if (2 ** (e + 1) <= a) e += 1;
  let m = rne((a / 2 ** e - 1) * 8);
  if (m === 8) {
    m = 0;
    e += 1;
  }
  const code = ((e + 7) << 3) | m;
  return sign | Math.min(code, 0x7e);
}

export function decodeE4M3(c: number): number {
  const sign = c & 0x80 ? -1 : 1;
  const e = (c >> 3) & 0xf;
  const m = c & 7;
  if (e === 0xf && m === 7) return NaN;
  if (e === 0) return sign * m * 2 ** -9;
  return sign * (1 + m / 8) * 2 ** (e - 7);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function toBf16(v: number): number {
  f32[0] = v;
  const u = u32[0];
  if ((u & 0x7fffffff) > 0x7f800000) return 0x7fc0; // NaN
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

export function fromBf16(h: number): number {
  u32[0] = h << 16;
  return f32[0];
}

/** Scale of a tile from its max-abs (REFERENCE.md §2). */
export function tileScale(amax: number): number {
  return Math.max(amax, 1e-4) / E4M3_MAX;
}

/** 128×128 block quantisation of W[rows, cols]: codes and scale_inv [ceil(rows/128), ceil(cols/128)]. */
export function quantizeBlocks(w: ArrayLike<number>, rows: number, cols: number, block = 128): { q: Uint8Array; scaleInv: Float32Array } {
  const br = Math.ceil(rows / block);
  const bc = Math.ceil(cols / block);
  const q = new Uint8Array(rows * cols);
  const scaleInv = new Float32Array(br * bc);
  for (let bi = 0; bi < br; bi++) {
    for (let bj = 0; bj < bc; bj++) {
      const r1 = Math.min(rows, (bi + 1) * block);
      const c1 = Math.min(cols, (bj + 1) * block);
      let amax = 0;
      for (let r = bi * block; r < r1; r++) for (let c = bj * block; c < c1; c++) amax = Math.max(amax, Math.abs(w[r * cols + c]));
      const s = Math.fround(tileScale(amax));
      scaleInv[bi * bc + bj] = s;
      for (let r = bi * block; r < r1; r++) for (let c = bj * block; c < c1; c++) q[r * cols + c] = encodeE4M3(w[r * cols + c] / s);
    }
  }
  return { q, scaleInv };
}

/** Quantise-dequantise in place with tiles of `tr`×`tc` (1×128 for activations, 128×128 for weights). */
export function fakeQuant(x: Float32Array, rows: number, cols: number, tr: number, tc: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let r0 = 0; r0 < rows; r0 += tr) {
    for (let c0 = 0; c0 < cols; c0 += tc) {
      const r1 = Math.min(rows, r0 + tr);
      const c1 = Math.min(cols, c0 + tc);
      let amax = 0;
      for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) amax = Math.max(amax, Math.abs(x[r * cols + c]));
      const s = Math.fround(tileScale(amax));
      for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) out[r * cols + c] = decodeE4M3(encodeE4M3(x[r * cols + c] / s)) * s;
    }
  }
  return out;
}
