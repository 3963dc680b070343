// Prints bench/results/kernels-*.json as Markdown tables (for the README): node dist/bench/kernels/table.js
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { REPO } from './common.js';

type Json = Record<string, any>; // parsed result files, read field by field

function load(name: string): Json | undefined {
  const f = path.join(REPO, 'bench/results', `kernels-${name}.json`);
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as Json) : undefined;
}

const f1 = (x: number | null | undefined) => (x == null ? '-' : x.toFixed(1));
const f2 = (x: number | null | undefined) => (x == null ? '-' : x.toFixed(2));

const gemm = load('gemm');
if (gemm) {
  console.log(`FP8 GEMM, ${gemm.threads} threads (${gemm.machine.kernels.path}; load ${gemm.machine.loadavg.map(f1).join('/')}); ` +
    `peak fp32 FMA ${f1(gemm.peakGFLOPs.fmaFp32)}, AMX BF16 ${f1(gemm.peakGFLOPs.amxBf16)} GFLOP/s\n`);
  console.log('| M x N x K | FP8 GFLOP/s | BF16 GFLOP/s | numpy f32 GFLOP/s | FP8 / numpy (wall) | FP8 / numpy (per CPU s) |');
  console.log('|---|---|---|---|---|---|');
  for (const r of gemm.shapes) {
    console.log(`| ${r.shape.M} x ${r.shape.N} x ${r.shape.K} | ${f1(r.fp8_GFLOPs)} | ${f1(r.bf16_GFLOPs)} | ${f1(r.numpy_f32_GFLOPs)} | ${f2(r.fp8_vs_numpy)} | ${f2(r.perCpuSecond.fp8_vs_numpy)} |`);
  }
  const g = gemm.grouped;
  console.log(`| grouped ${g.experts} experts, ${g.rowsPerExpert.reduce((a: number, b: number) => a + b, 0)} rows x ${g.N} x ${g.K} | ${f1(g.fp8_GFLOPs)} (prepacked ${f1(g.fp8_prepacked_GFLOPs)}) | - | ${f1(g.numpy_f32_GFLOPs)} | ${f2(g.fp8_vs_numpy)} (prepacked ${f2(g.fp8_prepacked_vs_numpy)}) | ${f2(g.perCpuSecond.fp8_vs_numpy)} |`);
  console.log(`\nOpenBLAS: ${JSON.stringify(gemm.shapes[0].blas)}\n`);
}

const quant = load('quant');
if (quant) {
  const n = quant.native, p = quant.numpy;
  console.log(`Quantisation ${quant.shape.join(' x ')} (GB/s = f32 in + fp8 out)\n`);
  console.log('| op | native GB/s | numpy+ml_dtypes GB/s | ratio (wall) | ratio (per CPU s) |');
  console.log('|---|---|---|---|---|');
  console.log(`| quantise 1x128 | ${f2(n.quantizeActivations_GBps)} | ${f2(p.quantizeActivations_GBps)} | ${f1(quant.ratios.quantizeActivations_vs_numpy)} | ${f1(quant.cpuTimeRatios.quantizeActivations_vs_numpy)} |`);
  console.log(`| quantise 128x128 | ${f2(n.quantizeWeights_GBps)} | ${f2(p.quantizeWeights_GBps)} | ${f1(quant.ratios.quantizeWeights_vs_numpy)} | ${f1(quant.cpuTimeRatios.quantizeWeights_vs_numpy)} |`);
  console.log(`| dequantise 1x128 | ${f2(n.dequantizeActivations_GBps)} | ${f2(p.dequantizeActivations_GBps)} | ${f1(quant.ratios.dequantizeActivations_vs_numpy)} | ${f1(quant.cpuTimeRatios.dequantizeActivations_vs_numpy)} |`);
  console.log(`| memcpy (read+write) | ${f2(n.memcpy_GBps)} | ${f2(p.memcpy_GBps)} | | |\n`);
}

const routing = load('routing');
if (routing) {
  const t = routing.tokensPerSecond;
  console.log('MoE routing, 4096 tokens, 256 experts, top-8 of 4/8 groups (tokens/s)\n');
  console.log('| route | dispatch plan | FP8 dispatch (7168 B rows) | bf16 combine (7168) | all |');
  console.log('|---|---|---|---|---|');
  console.log(`| ${t.route.toFixed(0)} | ${t.dispatchPlan.toFixed(0)} | ${t.dispatch.toFixed(0)} | ${t.combine.toFixed(0)} | ${t.all.toFixed(0)} |\n`);
}

const prec = load('precision');
if (prec) {
  console.log('FP8 GEMM relative error (Frobenius) vs float64, 13-bit truncating accumulator, non-negative inputs\n');
  console.log('| K | MMA-step (32) no promotion | with promotion /128 | per-product no promotion | with promotion | production fp32 kernel |');
  console.log('|---|---|---|---|---|---|');
  for (const r of prec.rows.filter((x: Json) => x.family === 'non-negative')) {
    const e = (x: Json) => `${(x.relFrobenius * 100).toPrecision(2)}%`;
    console.log(`| ${r.K} | ${e(r.mmaGroup32.withoutPromotion)} | ${e(r.mmaGroup32.withPromotion)} | ${e(r.perProduct.withoutPromotion)} | ${e(r.perProduct.withPromotion)} | ${e(r.productionKernelFp32)} |`);
  }
}
