// Per-step communication volumes of a training job (bytes), per rank pair kind, before placement:
// - EP all-to-all: every token visits top-k experts; forward dispatch in FP8 (+ one FP32 scale per 128 values),
//   forward combine BF16, backward both ways BF16; destinations uniform over the EP group.
// - PP point-to-point: BF16 activations forward and gradients backward at every stage boundary.
// - DP (ZeRO-1): FP32 gradient reduce-scatter + BF16 parameter all-gather in rings; non-expert parameters over the
//   ranks with the same (pp, tp), expert parameters over the ranks with the same (pp, ep, tp).
import { blockParams, countParams, isMoeLayer, layerParams } from '../model-size.js';
import { buildStages } from '../parallelism.js';
import type { ModelConfig, ParallelismSpec, TrainingShape } from '../types.js';

export interface TrafficVolumes {
  /** Bytes one rank sends to each member of its EP group (itself included: that share stays put). */
  epBytesPerPeer: number[];
  /** Bytes per step over the edge between pipeline ranks pp and pp+1, both directions together, per rank pair. */
  ppBytesPerEdge: number;
  /** Bytes one rank sends to its ring successor per step: non-expert ZeRO-1 ring and expert ring, by pp rank. */
  dpNonExpertHop: number[];
  dpExpertHop: number[];
  /** Parameters held by a rank of each pp rank (both stages under DualPipe), split. */
  nonExpertParams: number[];
  expertParams: number[];
}

/** Micro-batches one held stage processes per step. */
function chunksPerStage(p: ParallelismSpec): number {
  return p.pipeline.schedule === 'DualPipe' && p.pipeline.stages > 1 ? p.pipeline.microBatches / 2 : p.pipeline.microBatches;
}

export function trafficVolumes(m: ModelConfig, p: ParallelismSpec, t: TrainingShape): TrafficVolumes {
  const d = m.hidden_size;
  const tokens = (t.microBatchSize * t.sequenceLength) / p.tensor;
  const chunks = chunksPerStage(p);
  const stages = buildStages(m, p);
  const lp = layerParams(m);
  const counts = countParams(m);
  const perTokenExpert = d * (1 + 4 / 128) + 2 * d + 2 * d + 2 * d;
  const epBytesPerPeer: number[] = [];
  const nonExpertParams: number[] = [];
  const expertParams: number[] = [];
  const expertsPerRank = m.n_routed_experts / p.expert;
  for (const st of stages) {
    let moeLayers = 0;
    let ne = 0;
    let ex = 0;
    st.layers.forEach(([a, b]) => {
      for (let l = a; l < b; l++) {
        if (isMoeLayer(m, l)) {
          moeLayers++;
          ex += expertsPerRank * lp.routedExpert;
        }
        ne += blockParams(m, l, 0);
      }
    });
    if (st.embedding) ne += counts.embedding;
    if (st.head) {
      ne += counts.head + counts.mtp - m.num_nextn_predict_layers * m.n_routed_experts * lp.routedExpert;
      moeLayers += m.num_nextn_predict_layers;
      ex += m.num_nextn_predict_layers * expertsPerRank * lp.routedExpert;
    }
    epBytesPerPeer.push((tokens * m.num_experts_per_tok * perTokenExpert * moeLayers * chunks) / p.expert);
    nonExpertParams.push(ne / p.tensor);
    expertParams.push(ex);
  }
  const passes = p.pipeline.schedule === 'DualPipeV' ? 2 : 1;
  const ppBytesPerEdge = 2 * p.pipeline.microBatches * passes * tokens * d * 2;
  const ring = (n: number, params: number) => (n > 1 ? ((n - 1) / n) * params * (4 + 2) : 0);
  return {
    epBytesPerPeer,
    ppBytesPerEdge,
    dpNonExpertHop: nonExpertParams.map((x) => ring(p.expert * p.data, x)),
    dpExpertHop: expertParams.map((x) => ring(p.data, x)),
    nonExpertParams,
    expertParams,
  };
}
