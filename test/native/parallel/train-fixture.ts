// The small training run the distributed tests share: every feature of the model (MLA, MoE with groups, MTP),
// small enough that a few steps take a second.
import { defaultTrainOptions, type TrainOptions } from '../../../runtime/src/train/options.js';
import type { Precision } from '../../../runtime/src/model/precision.js';
import { byteTokenizer } from '../../../runtime/src/data/tokenizer.js';
import { syntheticCorpus } from '../../../runtime/src/data/grammar.js';
import { ChatBatches } from '../../../runtime/src/data/chat-batches.js';
import { Rng } from '../../../runtime/src/model/rng.js';

export const microOverrides = {
  vocab_size: 256, hidden_size: 16, intermediate_size: 24, moe_intermediate_size: 8, num_hidden_layers: 2,
  first_k_dense_replace: 1, num_attention_heads: 2, q_lora_rank: 8, kv_lora_rank: 8, qk_nope_head_dim: 4,
  qk_rope_head_dim: 4, v_head_dim: 4, n_routed_experts: 8, n_shared_experts: 1, num_experts_per_tok: 2, n_group: 4,
  topk_group: 2, num_nextn_predict_layers: 1,
};

export function fixtureOptions(precision: Precision, steps: number, batch = 4, layers = 2): TrainOptions {
  return defaultTrainOptions({
    precision, steps, batch, seqLen: 8, overrides: { ...microOverrides, num_hidden_layers: layers }, checkpointEvery: 0,
  });
}

export function fixtureTokens(): Int32Array {
  return byteTokenizer.encode(syntheticCorpus(3, 6000));
}

/**
 * SFT's batches for the fixture (seqLen 8, MTP depth 1): 40 short conversations of 2–7 tokens with a loss on some of
 * them, packed several to a window, so a batch has masked positions, sample boundaries and padding.
 */
export function fixtureChat(packing = true): ChatBatches {
  const rng = new Rng(17);
  const samples = Array.from({ length: 40 }, (_, i) => {
    const n = 2 + rng.int(6);
    const ids = Int32Array.from({ length: n }, () => 97 + rng.int(20));
    const loss = Uint8Array.from({ length: n }, (_, j) => (j >= n / 2 ? 1 : 0));
    return { where: `fixture:${i + 1}`, ids, loss };
  });
  return new ChatBatches(samples, { seqLen: 8, mtpDepth: microOverrides.num_nextn_predict_layers, packing }, 5);
}

/** The fixture's data: text windows (pre-training) or SFT's chat batches. */
export function fixtureData(sft?: 'packed' | 'padded'): Int32Array | ChatBatches {
  return sft ? fixtureChat(sft === 'packed') : fixtureTokens();
}
