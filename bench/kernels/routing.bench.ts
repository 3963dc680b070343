// Routing + dispatch + combine tokens/s: 4096 tokens, 256 experts in 8 groups (4 kept), top-8.
import { combine, dispatch, dispatchPlan, route, type RouterConfig } from '../../runtime/src/native/index.js';
import { randomF32, time, writeResult } from './common.js';

const T = 4096, E = 256, HIDDEN_FP8 = 7168, HIDDEN_F32 = 2048, REPEATS = 5;

async function main(): Promise<void> {
  const cfg: RouterConfig = { tokens: T, experts: E, groups: 8, topkGroup: 4, topk: 8, scale: 2.5 };
  const logits = randomF32(T * E, 1), bias = randomF32(E, 2).map((v) => v * 0.01);
  const xFp8 = new Uint8Array(T * HIDDEN_FP8).fill(0x38);
  const eo = randomF32(T * 8 * HIDDEN_F32, 3);
  const r = route(logits, bias, cfg);
  const plan = dispatchPlan(r.indices, T, 8, E);
  const tRoute = await time(() => route(logits, bias, cfg), REPEATS);
  const tPlan = await time(() => dispatchPlan(r.indices, T, 8, E), REPEATS);
  // Output buffers are reused across steps, as a training loop would.
  const dOut = new Uint8Array(T * 8 * HIDDEN_FP8), y = new Float32Array(T * HIDDEN_F32);
  const tDispatch = await time(() => dispatch(xFp8, HIDDEN_FP8, plan, dOut), REPEATS);
  const tCombine = await time(() => combine(eo, r.weights, HIDDEN_F32, plan, y), REPEATS);
  // The recipe's combine: bf16 expert outputs at the full model's hidden size.
  const eo16 = new Uint16Array(T * 8 * HIDDEN_FP8).fill(0x3f80), y16 = new Float32Array(T * HIDDEN_FP8);
  const tCombine16 = await time(() => combine(eo16, r.weights, HIDDEN_FP8, plan, y16), REPEATS);
  const total = tRoute.best + tPlan.best + tDispatch.best + tCombine16.best;
  const gbps = { dispatch: (2 * T * 8 * HIDDEN_FP8) / tDispatch.best / 1e9, combine: (T * 8 * HIDDEN_F32 * 4 + T * HIDDEN_F32 * 4) / tCombine.best / 1e9,
    combineBf16: (T * 8 * HIDDEN_FP8 * 2 + T * HIDDEN_FP8 * 4) / tCombine16.best / 1e9 };
  const result = {
    config: cfg,
    dispatch: `FP8 rows of ${HIDDEN_FP8} bytes (the recipe's dispatch format)`,
    combine: `float32 rows of ${HIDDEN_F32} (tiny-model hidden; 7168 float32 x 8 slots would be 0.9 GB)`,
    tokensPerSecond: { route: T / tRoute.best, dispatchPlan: T / tPlan.best, dispatch: T / tDispatch.best, combine: T / tCombine.best, all: T / total },
    bytesMovedGBps: gbps,
    seconds: { route: tRoute, dispatchPlan: tPlan, dispatch: tDispatch, combine: tCombine },
  };
  const file = writeResult('kernels-routing', result);
  console.log(JSON.stringify({ file, tokensPerSecond: result.tokensPerSecond, bytesMovedGBps: gbps }, null, 1));
}

await main();
