// Loads the compiled addon (runtime/native/build/Release/moe_native.node) and types its raw exports.
// The raw functions check their arguments too, but the wrappers in this folder are the API.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

type Cb = ((err: Error | null) => void) | undefined;
type F32 = Float32Array;
type U8 = Uint8Array;
type U16 = Uint16Array;
type I32 = Int32Array;

export interface RawBinding {
  kernelInfo(): { path: KernelPathName; detected: KernelPathName; threads: number };
  setKernelPath(p: KernelPathName): void;
  measurePeak(seconds: number): { fmaFp32: number; amxBf16: number };
  encodeF32(x: F32, out: U8, format: number, saturate: boolean, cb?: Cb): void;
  encodeBf16(x: U16, out: U8, format: number, saturate: boolean, cb?: Cb): void;
  decodeF32(c: U8, out: F32, format: number, cb?: Cb): void;
  decodeBf16(c: U8, out: U16, format: number, cb?: Cb): void;
  quantAct(x: F32, m: number, k: number, pow2: boolean, q: U8, scales: F32, cb?: Cb): void;
  quantWeight(w: F32, n: number, k: number, pow2: boolean, q: U8, scaleInv: F32, cb?: Cb): void;
  dequantAct(q: U8, scales: F32, m: number, k: number, out: F32, cb?: Cb): void;
  dequantWeight(q: U8, scaleInv: F32, n: number, k: number, out: F32, cb?: Cb): void;
  fp8Gemm(a: U8, as: F32, b: U8, bs: F32, m: number, n: number, k: number, out: F32 | U16, cb?: Cb): void;
  fp8GemmGrouped(a: U8, as: F32, b: U8, bs: F32, offsets: I32, e: number, n: number, k: number, out: F32 | U16, cb?: Cb): void;
  packWeights(b: U8, e: number, n: number, k: number, pathCode: number): U8;
  fp8GemmGroupedPacked(a: U8, as: F32, packed: U8, bs: F32, offsets: I32, e: number, n: number, k: number, pathCode: number, out: F32 | U16, cb?: Cb): void;
  bf16Gemm(a: U16, b: U16, m: number, n: number, k: number, out: F32 | U16, cb?: Cb): void;
  fp8GemmEmulated(a: U8, as: F32, b: U8, bs: F32, m: number, n: number, k: number, bits: number, interval: number, group: number, out: F32, cb?: Cb): void;
  rmsnorm(x: F32, w: F32, t: number, d: number, eps: number, y: F32, cb?: Cb): void;
  swiglu(gate: F32, up: F32, y: F32, cb?: Cb): void;
  softmax(x: F32, t: number, d: number, y: F32, cb?: Cb): void;
  rope(x: F32, pos: I32, t: number, h: number, dr: number, theta: number, y: F32, cb?: Cb): void;
  route(logits: F32, bias: F32, t: number, e: number, groups: number, topkGroup: number, topk: number, scale: number, idx: I32, w: F32, counts: I32, cb?: Cb): void;
  routeBackward(logits: F32, idx: I32, dw: F32, t: number, e: number, topk: number, scale: number, dlogits: F32, cb?: Cb): void;
  dispatchPlan(idx: I32, t: number, k: number, e: number, offsets: I32, slotOfRow: I32, rowOfSlot: I32, cb?: Cb): void;
  dispatchRows(x: F32 | U16 | U8, t: number, d: number, slotOfRow: I32, k: number, out: F32 | U16 | U8, cb?: Cb): void;
  dispatchBackward(dout: F32, rowOfSlot: I32, t: number, k: number, d: number, dx: F32, cb?: Cb): void;
  combine(eo: F32 | U16, w: F32, rowOfSlot: I32, t: number, k: number, d: number, y: F32, cb?: Cb): void;
  combineBackward(dy: F32, eo: F32, w: F32, rowOfSlot: I32, t: number, k: number, d: number, deo: F32, dw: F32, cb?: Cb): void;
  mlaAttention(q: F32, ckv: F32, kpe: F32, kvb: F32, caches: U8[], types: I32, L: I32, n: I32, row0: I32, t: number, h: number, dn: number, dr: number, dv: number, kr: number, scale: number, o: F32, wuvT: F32, cb?: Cb): void;
  kvWrite(cache: U8, type: number, kr: number, dr: number, pos: number, n: number, ckv: F32, kpe: F32): void;
  kvRead(cache: U8, type: number, kr: number, dr: number, pos: number, n: number, out: F32): void;
  siluMulRows(y: F32, t: number, ld: number, g0: number, u0: number, n: number, out: F32, cb?: Cb): void;
  matmulTF64(x: F32, wt: Float64Array, t: number, inF: number, outF: number, y: F32, cb?: Cb): void;
  rmsnormRows(x: F32, a: F32 | null, w: F32, t: number, d: number, eps: number, sum: F32 | null, y: F32): void;
  moeCombineRows(ys: F32, pairOf: I32, weight: Float64Array, rows: number, k: number, d: number, shared: F32 | null, t: number, y: F32): void;
  gatherPairRows(x: F32, pairOf: I32, rows: number, k: number, d: number, t: number, out: F32): void;
  addRows(a: F32, b: F32, out: F32): void;
}

/** 'amx' = AVX-512 plus AMX-BF16 tiles for the GEMMs. */
export type KernelPathName = 'reference' | 'avx2' | 'avx512' | 'amx';

/** Where the addon is expected: MOE_NATIVE_ADDON, else relative to this compiled file in dist/. */
export function addonPath(): string {
  if (process.env.MOE_NATIVE_ADDON) return process.env.MOE_NATIVE_ADDON;
  // dist/runtime/src/native/binding.js -> <repo>/runtime/native/build/Release/moe_native.node
  const here = path.dirname(fileURLToPath(import.meta.url));
  return path.resolve(here, '../../../../runtime/native/build/Release/moe_native.node');
}

let cached: RawBinding | undefined;

/** The raw addon, loaded once. Throws with the fix when it has not been built. */
export function binding(): RawBinding {
  if (cached) return cached;
  const file = addonPath();
  if (!existsSync(file)) {
    throw new Error(`moe native addon not found at ${file}: run "make native" (builds runtime/native with node-gyp)`);
  }
  const require = createRequire(import.meta.url);
  cached = require(file) as RawBinding;
  return cached;
}

/** Calls a raw function with a trailing callback and turns it into a promise. */
export function callAsync(fn: (...args: never[]) => void, args: unknown[]): Promise<void> {
  return new Promise((resolve, reject) => {
    (fn as (...a: unknown[]) => void)(...args, (err: Error | null) => (err ? reject(err) : resolve()));
  });
}
