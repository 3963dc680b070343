// FP8 codecs (E4M3 / E5M2 <-> float32 / bfloat16 bits) and bfloat16 helpers.
import { binding, callAsync } from './binding.js';
import { array } from './check.js';

export type Fp8Format = 'e4m3' | 'e5m2';

export interface EncodeOptions {
  format?: Fp8Format;
  /** Clamp overflow (and inf) to +-max finite instead of NaN (e4m3) / inf (e5m2). Default false. */
  saturate?: boolean;
}

export function formatCode(fn: string, f: unknown): number {
  if (f === undefined || f === 'e4m3') return 0;
  if (f === 'e5m2') return 1;
  throw new TypeError(`${fn}: format must be 'e4m3' or 'e5m2', got ${String(f)}`);
}

function encodeArgs(fn: string, x: unknown, opts: EncodeOptions): [Float32Array | Uint16Array, Uint8Array, number, boolean] {
  if (!(x instanceof Float32Array) && !(x instanceof Uint16Array)) {
    throw new TypeError(`${fn}: x must be a Float32Array (float32) or Uint16Array (bfloat16 bits), got ${x === null ? 'null' : typeof x}`);
  }
  const sat = opts.saturate ?? false;
  if (typeof sat !== 'boolean') throw new TypeError(`${fn}: saturate must be a boolean, got ${typeof sat}`);
  return [x, new Uint8Array(x.length), formatCode(fn, opts.format), sat];
}

/** Encodes float32 values or bfloat16 bit patterns to FP8 codes, round-to-nearest-even. */
export function fp8Encode(x: Float32Array | Uint16Array, opts: EncodeOptions = {}): Uint8Array {
  const [src, out, f, sat] = encodeArgs('fp8Encode', x, opts);
  if (src instanceof Float32Array) binding().encodeF32(src, out, f, sat);
  else binding().encodeBf16(src, out, f, sat);
  return out;
}

export async function fp8EncodeAsync(x: Float32Array | Uint16Array, opts: EncodeOptions = {}): Promise<Uint8Array> {
  const [src, out, f, sat] = encodeArgs('fp8EncodeAsync', x, opts);
  const b = binding();
  if (src instanceof Float32Array) await callAsync(b.encodeF32, [src, out, f, sat]);
  else await callAsync(b.encodeBf16, [src, out, f, sat]);
  return out;
}

/** Decodes FP8 codes to float32 (exact). */
export function fp8DecodeF32(codes: Uint8Array, format: Fp8Format = 'e4m3'): Float32Array {
  const c = array('fp8DecodeF32', 'codes', codes, Uint8Array, (codes as Uint8Array)?.length ?? 0, 'any length');
  const out = new Float32Array(c.length);
  binding().decodeF32(c, out, formatCode('fp8DecodeF32', format));
  return out;
}

/** Decodes FP8 codes to bfloat16 bit patterns (exact: every FP8 value is a bfloat16 value). */
export function fp8DecodeBf16(codes: Uint8Array, format: Fp8Format = 'e4m3'): Uint16Array {
  const c = array('fp8DecodeBf16', 'codes', codes, Uint8Array, (codes as Uint8Array)?.length ?? 0, 'any length');
  const out = new Uint16Array(c.length);
  binding().decodeBf16(c, out, formatCode('fp8DecodeBf16', format));
  return out;
}

/** float32 -> bfloat16 bits, round-to-nearest-even; NaN -> canonical quiet NaN with its sign (as ml_dtypes). */
export function f32ToBf16(x: Float32Array): Uint16Array {
  const u = new Uint32Array(x.buffer, x.byteOffset, x.length);
  const out = new Uint16Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = u[i]!;
    if ((v & 0x7fffffff) > 0x7f800000) out[i] = ((v >>> 16) & 0x8000) | 0x7fc0;
    else out[i] = ((v + 0x7fff + ((v >>> 16) & 1)) >>> 16) & 0xffff;
  }
  return out;
}

/** bfloat16 bits -> float32 (exact). */
export function bf16ToF32(x: Uint16Array): Float32Array {
  const out = new Float32Array(x.length);
  const u = new Uint32Array(out.buffer);
  for (let i = 0; i < x.length; i++) u[i] = x[i]! << 16;
  return out;
}
