// Shared helpers for the native tests: the Python oracle, an independent FP8 decoder, float64
// references, a seeded PRNG and first-mismatch reporting.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PYTHON = process.env.MOE_PYTHON ?? '/work/main/.tools/pyenv/bin/python';

/** test/native/fp8_oracle.py in the source tree (this file runs from dist/test/native/). */
export function oracleScript(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return path.resolve(here, '../../../test/native/fp8_oracle.py');
}

/** Runs the oracle; `inputs` are written to files, outputs read back as bytes. */
export function oracle(mode: string, args: string[], inputs: ArrayBufferView[], outputs: number): Buffer[] {
  if (!existsSync(PYTHON)) throw new Error(`python with numpy + ml_dtypes not found at ${PYTHON}: run "make pyenv" (or set MOE_PYTHON)`);
  const dir = mkdtempSync(path.join(tmpdir(), 'moe-oracle-'));
  try {
    const ins = inputs.map((v, i) => {
      const f = path.join(dir, `in${i}`);
      writeFileSync(f, new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
      return f;
    });
    const outs = Array.from({ length: outputs }, (_, i) => path.join(dir, `out${i}`));
    execFileSync(PYTHON, [oracleScript(), mode, ...args, ...ins, ...outs], { stdio: ['ignore', 'ignore', 'pipe'] });
    return outs.map((f) => readFileSync(f));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function asU8(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}
export function asF32(b: Buffer): Float32Array {
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}
export function asU16(b: Buffer): Uint16Array {
  return new Uint16Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/** FP8 code -> value, from the format definition (no shared code with the addon). */
export function fp8Value(code: number, format: 'e4m3' | 'e5m2' = 'e4m3'): number {
  const [mant, bias] = format === 'e4m3' ? [3, 7] : [2, 15];
  const sign = code & 0x80 ? -1 : 1;
  const e = (code & 0x7f) >> mant, m = code & ((1 << mant) - 1);
  if (format === 'e4m3' && (code & 0x7f) === 0x7f) return NaN;
  if (format === 'e5m2' && e === 31) return m === 0 ? sign * Infinity : NaN;
  if (e === 0) return sign * m * 2 ** (1 - bias - mant);
  return sign * (1 + m / (1 << mant)) * 2 ** (e - bias);
}

/** Deterministic PRNG (mulberry32): the planner's, so the project has one. */
export { rng } from '../../operator/plan/placement/baselines.js';

/** Normal-ish random values (sum of uniforms), scaled. */
export function randn(n: number, r: () => number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (r() + r() + r() + r() - 2) * scale;
  return out;
}

/** Index of the first element where a and b differ bitwise, or -1. */
export function firstBitMismatch(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return i;
  return -1;
}

/** Throws with the first position where |got - want| > tol(i). */
export function assertClose(what: string, got: ArrayLike<number>, want: ArrayLike<number>, tol: (i: number) => number): void {
  if (got.length !== want.length) throw new Error(`${what}: length ${got.length} != ${want.length}`);
  for (let i = 0; i < got.length; i++) {
    const d = Math.abs(got[i]! - want[i]!);
    if (!(d <= tol(i))) throw new Error(`${what}: first mismatch at ${i}: got ${got[i]}, want ${want[i]}, |diff| ${d} > tol ${tol(i)}`);
  }
}

/** Float64 C = A.B^T of the block-scaled recipe from codes and scales; also sum |terms| per output. */
export function fp8GemmF64(aq: Uint8Array, as: Float32Array, bq: Uint8Array, bs: Float32Array, M: number, N: number, K: number): { c: Float64Array; abs: Float64Array } {
  const KB = Math.ceil(K / 128);
  const lut = Float64Array.from({ length: 256 }, (_, i) => fp8Value(i));
  const c = new Float64Array(M * N), abs = new Float64Array(M * N);
  for (let m = 0; m < M; m++)
    for (let n = 0; n < N; n++) {
      let s = 0, sa = 0;
      for (let k = 0; k < K; k++) {
        const f = as[m * KB + (k >> 7)]! * bs[Math.floor(n / 128) * KB + (k >> 7)]!;
        const t = lut[aq[m * K + k]!]! * lut[bq[n * K + k]!]! * f;
        s += t;
        sa += Math.abs(t);
      }
      c[m * N + n] = s;
      abs[m * N + n] = sa;
    }
  return { c, abs };
}
