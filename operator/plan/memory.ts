// Memory per GPU (estimate) for the most loaded pipeline rank:
// - weights BF16 (2 B) and gradients FP32 (4 B) of every parameter the rank holds (both stages under DualPipe);
// - ZeRO-1 optimizer state: FP32 master weights + two BF16 AdamW moments (8 B) sharded over the data-parallel group
//   (non-expert parameters over EP·DP ranks, expert parameters over DP ranks);
// - activations: peak in-flight chunks × tokens × layers × bytes per token-layer: 17·d for attention and norms (half of
//   the 34·d BF16 figure of Korthikanti et al. with flash attention, since DeepSeek-V3 caches GEMM inputs in FP8 and
//   recomputes RMSNorm and the MLA up-projections), plus per routed/shared expert copy the FP8 input (d) and the BF16
//   gate/up outputs (4·moe_intermediate; the SwiGLU output is recomputed). A planning estimate, not a measurement.
import { isMoeLayer } from './model-size.js';
import { buildStages } from './parallelism.js';
import type { TrafficVolumes } from './placement/traffic.js';
import type { MemoryEstimate, ModelConfig, ParallelismSpec, TrainingShape } from './types.js';

/**
 * Peak in-flight forward chunks per pipeline rank (REFERENCE.md §4 table): 1F1B PP−r; DualPipe PP+1;
 * DualPipeV 2·PP+1 (its table's PP counts stages). The schedule simulator reproduces these (unit-tested).
 */
export function peakChunks(p: ParallelismSpec): number[] {
  const PP = p.pipeline.stages;
  return Array.from({ length: PP }, (_, r) => {
    switch (p.pipeline.schedule) {
      case 'DualPipe':
        return PP === 1 ? 1 : PP + 1;
      case 'DualPipeV':
        return 2 * PP + 1;
      default:
        return Math.min(PP - r, p.pipeline.microBatches);
    }
  });
}

export function memoryPerGpu(m: ModelConfig, p: ParallelismSpec, t: TrainingShape, v: TrafficVolumes): MemoryEstimate {
  const stages = buildStages(m, p);
  const peaks = peakChunks(p);
  const d = m.hidden_size;
  const tokens = (t.microBatchSize * t.sequenceLength) / p.tensor;
  const moeExtra = (m.num_experts_per_tok + m.n_shared_experts) * (d + 4 * m.moe_intermediate_size);
  let worst: MemoryEstimate | null = null;
  stages.forEach((st, r) => {
    const ne = v.nonExpertParams[r]!;
    const ex = v.expertParams[r]!;
    const params = ne + ex;
    const zeroNe = p.expert * p.data;
    const optimizerBytes = (8 * ne) / zeroNe + (8 * ex) / p.data;
    // Activation per chunk: the deeper of the held stages (chunks of both directions are in flight together).
    let perChunk = 0;
    st.layers.forEach(([a, b]) => {
      let bytes = 0;
      for (let l = a; l < b; l++) bytes += tokens * (17 * d + (isMoeLayer(m, l) ? moeExtra : d + 4 * m.intermediate_size));
      perChunk = Math.max(perChunk, bytes);
    });
    const activationBytes = peaks[r]! * perChunk;
    const est: MemoryEstimate = {
      params,
      weightBytes: 2 * params,
      gradBytes: 4 * params,
      optimizerBytes,
      activationBytes,
      totalBytes: 2 * params + 4 * params + optimizerBytes + activationBytes,
      peakActivationChunks: peaks[r]!,
    };
    if (!worst || est.totalBytes > worst.totalBytes) worst = est;
  });
  return worst!;
}
