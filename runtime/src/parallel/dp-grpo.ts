// GRPO under data parallelism (ZeRO-1), I/O code around post/grpo.ts: every rank draws the step's P prompts from its
// own copy of the prompt sampler (so the data position is the single-process one), keeps its P/DP of them, generates
// their G rollouts with the serving engine over its own full copy of the weights, scores them and trains on them;
// the ZeRO-1 step averages the gradients (each rank's objective is the mean over its own sequences, so the average is
// the mean over the step's). Sample seeds are numbered across the step, so the rollouts do not depend on DP. The
// step's metrics are sums over the ranks. Layouts where a rank lacks part of the model (pipeline or expert
// parallelism) are refused before anything starts (grpoLayoutProblem, operator/contract/grpo.ts).
import { gatherF64, globalBiasUpdate } from './zero1.js';
import { moeLayerKeys } from './held-params.js';
import type { DataParallelTrainer } from './dp-trainer.js';
export { grpoLayoutProblem } from '../../../operator/contract/index.js';
import { SUM_KEYS, grpoMetrics, type Grpo, type GrpoMetrics, type LocalBatch, type StepSums } from '../post/grpo.js';

export async function dpGrpoStep(dp: DataParallelTrainer, gr: Grpo): Promise<GrpoMetrics & { batch: LocalBatch }> {
  const t = gr.t;
  const t0 = performance.now();
  const size = dp.dp.size, rank = dp.dp.rank, G = gr.s.groupSize;
  const all = gr.nextPrompts();
  const local = all.length / size;
  const b = await gr.prepare(all.slice(rank * local, (rank + 1) * local), rank * local * G);
  t.params.zeroGrad();
  const counts = gr.policyForwardBackward(b);
  const { gradNorm, lr } = await dp.zero.step(1 / size);
  await globalBiasUpdate(t, dp.dp, moeLayerKeys(t.config), counts, t.config.n_routed_experts);
  const v = await gatherF64(dp.dp, SUM_KEYS.map((k) => b.sums[k]));
  const sums = Object.fromEntries(SUM_KEYS.map((k, j) => {
    let x = 0;
    for (let q = 0; q < size; q++) x += v[q * SUM_KEYS.length + j];
    return [k, x];
  })) as StepSums;
  t.step++;
  // The judge's URL is the same on every rank; rank 0 names its own last error, or says where the failures were.
  const judgeError = b.judgeError ?? (sums.judgeFailures > 0 ? { url: '(see the other ranks\' logs)', error: `${sums.judgeFailures} judge call(s) failed on other ranks` } : undefined);
  const m = grpoMetrics(t.step, sums, size, { gradNorm, lr, seconds: (performance.now() - t0) / 1000, trainedTokens: sums.samples * gr.seqLen, judgeError });
  return { ...m, batch: b };
}
