// FP8 GEMM GFLOP/s (plain and grouped MoE) vs numpy float32 matmul (OpenBLAS) on the same shapes and threads.
import {
  bf16Gemm, f32ToBf16, fp8Gemm, fp8GemmGrouped, fp8GemmGroupedPacked, kernelInfo, packWeights, measurePeak, quantizeActivations, quantizeWeights, setKernelPath,
  type Fp8ExpertWeights,
} from '../../runtime/src/native/index.js';
import { peer, randomF32, time, writeResult } from './common.js';

const REPEATS = 3;
// [M, N, K]: C[M,N] = A[M,K] . B[N,K]^T. 4096 tokens through the full model's expert/dense projections.
const SHAPES: Array<[number, number, number]> = [[4096, 7168, 2048], [4096, 2048, 7168], [512, 1024, 1024]];
// Grouped: 8 local experts (256 experts over EP32), 2048 inner, 7168 hidden, uneven rows summing to 4096.
const GROUP_ROWS = [700, 412, 598, 350, 640, 486, 530, 380];

async function main(): Promise<void> {
  const threads = kernelInfo().threads;
  const peak = measurePeak(0.5);
  console.log(JSON.stringify({ peakGFLOPs: peak }));
  const rows: Record<string, unknown>[] = [];
  for (const [M, N, K] of SHAPES) {
    const a = quantizeActivations(randomF32(M * K, 1), M, K), b = quantizeWeights(randomF32(N * K, 2), N, K);
    const flop = 2 * M * N * K;
    const fp8 = await time(() => fp8Gemm(a, b), REPEATS);
    let avx512: { best: number; median: number } | null = null;
    if (kernelInfo().detected === 'amx' && M * N * K <= 4096 * 2048 * 2048) {
      setKernelPath('avx512');
      avx512 = await time(() => fp8Gemm(a, b), 1);
      setKernelPath('amx');
    }
    const ab = f32ToBf16(randomF32(M * K, 3)), bb = f32ToBf16(randomF32(N * K, 4));
    const bf = await time(() => bf16Gemm(ab, bb, M, N, K), REPEATS);
    const py = peer(['gemm', String(M), String(N), String(K), String(REPEATS)], threads);
    const pyBest = (py.matmul_s as number[])[0]!, pyCpu = (py.matmul_s as number[])[2]!;
    rows.push({
      shape: { M, N, K }, flop,
      fp8_GFLOPs: flop / fp8.best / 1e9, bf16_GFLOPs: flop / bf.best / 1e9, numpy_f32_GFLOPs: flop / pyBest / 1e9,
      fp8_avx512_path_GFLOPs: avx512 ? flop / avx512.best / 1e9 : null,
      fp8_vs_numpy: pyBest / fp8.best, bf16_vs_numpy: pyBest / bf.best,
      perCpuSecond: { fp8_GFLOP: flop / fp8.cpuBest / 1e9, bf16_GFLOP: flop / bf.cpuBest / 1e9, numpy_GFLOP: flop / pyCpu / 1e9, fp8_vs_numpy: pyCpu / fp8.cpuBest },
      fp8_vs_amx_peak: peak.amxBf16 ? flop / fp8.best / 1e9 / peak.amxBf16 : null, numpy_vs_fma_peak: flop / pyBest / 1e9 / peak.fmaFp32,
      weightBytes: { fp8: N * K + b.scaleInv.length * 4, f32: N * K * 4 },
      seconds: { fp8, bf16: bf, numpy: py.matmul_s }, blas: py.blas,
    });
    console.log(JSON.stringify(rows[rows.length - 1]));
  }

  const E = GROUP_ROWS.length, N = 2048, K = 7168, R = GROUP_ROWS.reduce((s, r) => s + r, 0);
  const offsets = new Int32Array(E + 1);
  GROUP_ROWS.forEach((r, e) => (offsets[e + 1] = offsets[e]! + r));
  const a = quantizeActivations(randomF32(R * K, 5), R, K);
  const one = quantizeWeights(randomF32(E * N * K, 6), E * N, K); // E stacked [N,K] matrices, N multiple of 128
  const experts: Fp8ExpertWeights = { experts: E, rows: N, cols: K, q: one.q, scaleInv: one.scaleInv };
  const flop = 2 * R * N * K;
  const g = await time(() => fp8GemmGrouped(a, experts, offsets), REPEATS);
  const packed = packWeights(experts); // inference: expert weights decoded and laid out once
  const gp = await time(() => fp8GemmGroupedPacked(a, packed, offsets), REPEATS);
  const py = peer(['grouped', GROUP_ROWS.join(','), String(N), String(K), String(REPEATS)], threads);
  const pyBest = (py.matmul_s as number[])[0]!, pyCpu = (py.matmul_s as number[])[2]!;
  const grouped = {
    experts: E, rowsPerExpert: GROUP_ROWS, N, K, flop,
    fp8_GFLOPs: flop / g.best / 1e9, numpy_f32_GFLOPs: flop / pyBest / 1e9, fp8_vs_numpy: pyBest / g.best,
    fp8_prepacked_GFLOPs: flop / gp.best / 1e9, fp8_prepacked_vs_numpy: pyBest / gp.best,
    perCpuSecond: { fp8_GFLOP: flop / g.cpuBest / 1e9, numpy_GFLOP: flop / pyCpu / 1e9, fp8_vs_numpy: pyCpu / g.cpuBest },
    seconds: { fp8: g, fp8Prepacked: gp, numpy: py.matmul_s }, blas: py.blas,
  };
  console.log(JSON.stringify(grouped));
  const file = writeResult('kernels-gemm', {
    note: 'FP8 time includes decoding/packing the FP8 operands on every call; numpy is float32 A @ B.T on ' +
      `${threads} OpenBLAS threads with OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE removed from its environment. ` +
      'perCpuSecond divides by process CPU time (all threads), which stays meaningful when other jobs share the cores.',
    threads, peakGFLOPs: peak, shapes: rows, grouped,
  });
  console.log(file);
}

await main();
