// Precision study: FP8 GEMM relative error against float64 with and without promotion every 128 K.
//
// The emulated tensor-core accumulator keeps 13 explicit mantissa bits (14 significant bits; the
// DeepSeek-V3 report says ~14 on H800) and truncates (rounds toward zero) after every addition.
// What gets added is a group of products summed in fp32: group 32 = one Hopper FP8 MMA step (k=32),
// group 1 = every product on its own (a pessimistic bound). "Without promotion" accumulates the
// scaled group sums over the whole K; "with promotion" keeps the narrow accumulator for each
// 128-wide slice, then adds slice * scales into a float32 accumulator. The production kernel (fp32
// accumulation, promotion every 128) is measured as well.
import {
  fp8Gemm, fp8GemmEmulated, quantizeActivations, quantizeWeights, type Fp8Activations, type Fp8Weights,
} from '../../runtime/src/native/index.js';
import { writeResult } from './common.js';

const M = 32, N = 32, BITS = 13;
const KS = [512, 1024, 2048, 4096, 8192, 16384];

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

function fp8Value(c: number): number {
  const s = c & 0x80 ? -1 : 1, e = (c >> 3) & 15, m = c & 7;
  if ((c & 0x7f) === 0x7f) return NaN;
  return e === 0 ? s * m * 2 ** -9 : s * (1 + m / 8) * 2 ** (e - 7);
}

function exact(a: Fp8Activations, b: Fp8Weights): Float64Array {
  const K = a.cols, KB = Math.ceil(K / 128), lut = Float64Array.from({ length: 256 }, (_, i) => fp8Value(i));
  const c = new Float64Array(a.rows * b.rows);
  for (let m = 0; m < a.rows; m++)
    for (let n = 0; n < b.rows; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += lut[a.q[m * K + k]!]! * lut[b.q[n * K + k]!]! * a.scales[m * KB + (k >> 7)]! * b.scaleInv[Math.floor(n / 128) * KB + (k >> 7)]!;
      c[m * b.rows + n] = s;
    }
  return c;
}

function errors(got: Float32Array, want: Float64Array): { relFrobenius: number; maxRel: number } {
  let num = 0, den = 0, maxRel = 0;
  for (let i = 0; i < want.length; i++) {
    const d = got[i]! - want[i]!;
    num += d * d;
    den += want[i]! * want[i]!;
    maxRel = Math.max(maxRel, Math.abs(d) / Math.abs(want[i]!));
  }
  return { relFrobenius: Math.sqrt(num / den), maxRel };
}

async function main(): Promise<void> {
  const rows: Record<string, unknown>[] = [];
  // Two input families: zero-mean (sums partly cancel) and non-negative (every addition grows the sum, as
  // for a GEMM of positive activations, the case where a narrow accumulator loses the most).
  for (const family of ['zero-mean', 'non-negative'] as const) {
    for (const K of KS) {
      const r = lcg(K + (family === 'zero-mean' ? 0 : 7));
      const gen = (n: number) => Float32Array.from({ length: n }, () => (family === 'zero-mean' ? r() - 0.5 : r()));
      const a = quantizeActivations(gen(M * K), M, K), b = quantizeWeights(gen(N * K), N, K);
      const want = exact(a, b);
      const emu = async (interval: number, group: number) =>
        errors(await fp8GemmEmulated(a, b, { accMantissaBits: BITS, interval, group }), want);
      const row = {
        family, K,
        mmaGroup32: { withoutPromotion: await emu(0, 32), withPromotion: await emu(128, 32) },
        perProduct: { withoutPromotion: await emu(0, 1), withPromotion: await emu(128, 1) },
        productionKernelFp32: errors(fp8Gemm(a, b), want),
      };
      rows.push(row);
      console.log(JSON.stringify(row));
    }
  }
  const file = writeResult('kernels-precision', {
    method: `C[${M}x${N}] of block-quantised uniform inputs vs float64 of the same FP8 codes and scales; accumulator ` +
      `emulation: ${BITS} explicit mantissa bits, truncation after each addition of a group sum (32 = one MMA step, 1 = ` +
      'each product); promotion interval 128',
    rows,
  });
  console.log(file);
}

await main();
