// Admission checks of a request against the model (HTTP 400 via BadRequestError, naming the OpenAI parameter).
import type { RuntimeModelConfig } from '../../model/config.js';
import { MAX_TOP_LOGPROBS } from './logprobs.js';
import { BadRequestError, type GenerateRequest } from './types.js';

export function validateRequest(req: GenerateRequest, c: RuntimeModelConfig, maxSequenceLength: number): void {
  if (typeof req !== 'object' || req === null) throw new BadRequestError('request', 'the request must be an object {id, promptIds, params}');
  const ids = req.promptIds;
  if (!(ids instanceof Int32Array)) throw new BadRequestError('prompt', 'promptIds must be an Int32Array of token ids');
  if (ids.length === 0) throw new BadRequestError('prompt', 'the prompt is empty; send at least one token');
  for (let i = 0; i < ids.length; i++) {
    if (!(ids[i] >= 0 && ids[i] < c.vocab_size)) throw new BadRequestError('prompt', `prompt token ${i} is id ${ids[i]}, outside the vocabulary [0, ${c.vocab_size})`);
  }
  if (ids.length >= maxSequenceLength) {
    throw new BadRequestError('prompt', `the prompt has ${ids.length} tokens; this server takes at most ${maxSequenceLength - 1} (max sequence length ${maxSequenceLength} including at least one generated token)`);
  }
  const p = req.params;
  if (typeof p !== 'object' || p === null) throw new BadRequestError('params', 'params must be an object {maxTokens, temperature, topP, seed, stopTokenIds}');
  const lp = req.logprobs;
  if (lp !== undefined) {
    if (typeof lp !== 'object' || lp === null || !Number.isInteger(lp.topK) || lp.topK < 0 || lp.topK > MAX_TOP_LOGPROBS) {
      throw new BadRequestError('logprobs', `logprobs must be an integer in [0, ${MAX_TOP_LOGPROBS}] (alternatives per token), got ${String((lp as { topK?: unknown } | null)?.topK)}`);
    }
    if (typeof lp.prompt !== 'boolean') throw new BadRequestError('echo', `echo must be true or false, got ${String(lp.prompt)}`);
  }
  // max_tokens 0 only scores the prompt, which needs its log-probabilities.
  if (!Number.isInteger(p.maxTokens) || p.maxTokens < 0 || (p.maxTokens === 0 && !lp?.prompt)) {
    throw new BadRequestError('max_tokens', `max_tokens must be an integer >= 1 (0 only with echo and logprobs, to score the prompt), got ${String(p.maxTokens)}`);
  }
  if (typeof p.temperature !== 'number' || !Number.isFinite(p.temperature) || p.temperature < 0) throw new BadRequestError('temperature', `temperature must be a finite number >= 0, got ${String(p.temperature)}`);
  if (typeof p.topP !== 'number' || !(p.topP > 0 && p.topP <= 1)) throw new BadRequestError('top_p', `top_p must be in (0, 1], got ${String(p.topP)}`);
  if (!Number.isInteger(p.seed)) throw new BadRequestError('seed', `seed must be an integer, got ${String(p.seed)}`);
  if (!Array.isArray(p.stopTokenIds) || !p.stopTokenIds.every((t) => Number.isInteger(t))) throw new BadRequestError('stop', 'stopTokenIds must be an array of integer token ids');
  if (req.mtp !== undefined && typeof req.mtp !== 'boolean') throw new BadRequestError('mtp', `mtp must be true or false, got ${String(req.mtp)}`);
  const h = req.handoff;
  if (h) {
    const n = ids.length;
    if (h.promptIds.length !== n || h.promptIds.some((v, i) => v !== ids[i])) throw new BadRequestError('handoff', 'the hand-off was made for a different prompt than promptIds');
    if (h.latent.length !== c.num_hidden_layers || h.kpe.length !== c.num_hidden_layers) throw new BadRequestError('handoff', `the hand-off has ${h.latent.length} layers, the model ${c.num_hidden_layers}`);
    for (let l = 0; l < c.num_hidden_layers; l++) {
      if (h.latent[l].length !== n * c.kv_lora_rank || h.kpe[l].length !== n * c.qk_rope_head_dim) throw new BadRequestError('handoff', `hand-off layer ${l} has the wrong size for ${n} tokens (kv_lora_rank ${c.kv_lora_rank}, qk_rope_head_dim ${c.qk_rope_head_dim})`);
    }
    if (!(Number.isInteger(h.firstToken) && h.firstToken >= 0 && h.firstToken < c.vocab_size)) throw new BadRequestError('handoff', `the hand-off's first token ${h.firstToken} is outside the vocabulary`);
    const m = h.mtp;
    if (m && (m.latent.length !== (n - 1) * c.kv_lora_rank || m.kpe.length !== (n - 1) * c.qk_rope_head_dim || m.hidden.length !== c.hidden_size)) {
      throw new BadRequestError('handoff', `the hand-off's MTP state has the wrong size for ${n} tokens (${n - 1} cache entries and one hidden state of ${c.hidden_size})`);
    }
    if (lp && !h.firstLogprob) throw new BadRequestError('handoff', 'the request asks for logprobs but the hand-off carries no log-probability of its first token');
    if (lp?.prompt && h.promptLogprobs?.length !== n - 1) throw new BadRequestError('handoff', `the request asks for the prompt's log-probabilities (echo) but the hand-off carries ${h.promptLogprobs?.length ?? 'none'} of the ${n - 1} needed`);
  }
}
