// FP8 block quantise / dequantise throughput vs numpy + ml_dtypes (same recipe) and vs memcpy.
import {
  dequantizeActivations, quantizeActivations, quantizeWeights,
} from '../../runtime/src/native/index.js';
import { peer, randomF32, time, writeResult } from './common.js';

const ROWS = 4096, COLS = 7168, REPEATS = 5;

async function main(): Promise<void> {
  const n = ROWS * COLS;
  const x = randomF32(n);
  const threads = (await import('../../runtime/src/native/index.js')).kernelInfo().threads;
  // Traffic counted as bytes read + written: f32 in (4) + fp8 out (1) per element (scales are <1%).
  const bytes = n * 5;
  const qa = await time(() => quantizeActivations(x, ROWS, COLS), REPEATS);
  const a = quantizeActivations(x, ROWS, COLS);
  const da = await time(() => dequantizeActivations(a), REPEATS);
  const qw = await time(() => quantizeWeights(x, ROWS, COLS), REPEATS);
  const dst = new Float32Array(n);
  const mc = await time(() => dst.set(x), REPEATS);
  const py = peer(['quant', String(ROWS), String(COLS), String(REPEATS)], threads);
  const pyBest = (k: string) => (py[k] as number[])[0]!;
  const pyCpu = (k: string) => (py[k] as number[])[2]!;
  const gbps = (s: number, b = bytes) => b / s / 1e9;
  const result = {
    shape: [ROWS, COLS],
    trafficNote: 'GB/s = (4 B f32 + 1 B fp8) per element / best time; memcpy counts 4 B read + 4 B written',
    native: {
      quantizeActivations_GBps: gbps(qa.best), dequantizeActivations_GBps: gbps(da.best), quantizeWeights_GBps: gbps(qw.best),
      memcpy_GBps: gbps(mc.best, n * 8), seconds: { qa, da, qw, memcpy: mc },
    },
    numpy: {
      quantizeActivations_GBps: gbps(pyBest('quant_act_s')), dequantizeActivations_GBps: gbps(pyBest('dequant_act_s')),
      quantizeWeights_GBps: gbps(pyBest('quant_weight_s')), memcpy_GBps: gbps(pyBest('memcpy_s'), n * 8), raw: py,
    },
    cpuTimeRatios: {
      quantizeActivations_vs_numpy: pyCpu('quant_act_s') / qa.cpuBest,
      dequantizeActivations_vs_numpy: pyCpu('dequant_act_s') / da.cpuBest,
      quantizeWeights_vs_numpy: pyCpu('quant_weight_s') / qw.cpuBest,
    },
    ratios: {
      quantizeActivations_vs_numpy: pyBest('quant_act_s') / qa.best,
      dequantizeActivations_vs_numpy: pyBest('dequant_act_s') / da.best,
      quantizeWeights_vs_numpy: pyBest('quant_weight_s') / qw.best,
      quantizeActivations_vs_memcpy_bandwidth: gbps(qa.best) / gbps(mc.best, n * 8),
      dequantizeActivations_vs_memcpy_bandwidth: gbps(da.best) / gbps(mc.best, n * 8),
    },
  };
  const file = writeResult('kernels-quant', result);
  console.log(JSON.stringify({ file, native: { ...result.native, seconds: undefined }, numpy: { ...result.numpy, raw: undefined }, ratios: result.ratios, cpuTimeRatios: result.cpuTimeRatios }, null, 1));
}

await main();
