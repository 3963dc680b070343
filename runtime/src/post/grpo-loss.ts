// GRPO's objective per token (pure), DeepSeekMath (arXiv 2402.03300) §4.1, eq. (3) with the KL estimator eq. (4):
//
//   J = 1/N Σ_i 1/|o_i| Σ_t [ min(ρ_{i,t} Â_{i,t}, clip(ρ_{i,t}, 1−ε, 1+ε) Â_{i,t}) − β D_{i,t} ]
//   ρ_{i,t} = π_θ(o_{i,t} | q, o_{i,<t}) / π_old(o_{i,t} | ...)           (π_old: the rollout's own log-probabilities)
//   D_{i,t} = π_ref/π_θ − log(π_ref/π_θ) − 1                               (k3: unbiased, always ≥ 0)
//
// N = the sequences of the whole step (all groups, all data-parallel ranks), |o_i| = response tokens of sequence i,
// Â_{i,t} = A_i (advantages.ts). The loss is L = −J. Given log π_θ of each target token, this returns L and
// ∂L/∂log π_θ per token, which the model's per-token loss hook turns into ∂L/∂logits = ∂L/∂logp · (onehot − softmax):
//   ∂/∂logp min(ρA, clip(ρ)A) = ρA, or 0 where the clipped branch is the smaller (A ≥ 0 and ρ > 1+ε, A < 0 and ρ < 1−ε)
//   ∂D/∂logp = 1 − π_ref/π_θ
export interface GrpoTokens {
  /** Per row (position predicting the next token) of the batch: the sequence the row's target belongs to, or −1 (not a response token). */
  seq: Int32Array;
  /** Per row: log π_old and log π_ref of the target token (ignored where seq is −1). */
  oldLogp: Float64Array;
  refLogp: Float64Array;
  /** Per sequence: advantage and response length |o_i|. */
  advantage: Float64Array;
  length: Int32Array;
  /** N: sequences the loss averages over (the whole step's, across ranks). */
  sequences: number;
  clipEpsilon: number;
  klCoef: number;
}

export interface GrpoLoss {
  loss: number;
  /** ∂L/∂log π_θ per row. */
  dlogp: Float64Array;
  /** Σ over response tokens of D (k3), ρ clipped count and tokens, for the step's metrics. */
  klSum: number;
  clipped: number;
  tokens: number;
}

export function grpoLoss(logp: ArrayLike<number>, g: GrpoTokens): GrpoLoss {
  const T = g.seq.length;
  if (logp.length !== T) throw new Error(`grpo loss: ${logp.length} log-probabilities for ${T} rows`);
  const eps = g.clipEpsilon, beta = g.klCoef;
  const dlogp = new Float64Array(T);
  let loss = 0, klSum = 0, clipped = 0, tokens = 0;
  for (let t = 0; t < T; t++) {
    const i = g.seq[t];
    if (i < 0) continue;
    const A = g.advantage[i];
    const w = 1 / (g.sequences * g.length[i]);
    const ratio = Math.exp(logp[t] - g.oldLogp[t]);
    const clippedRatio = Math.min(1 + eps, Math.max(1 - eps, ratio));
    const unclippedTerm = ratio * A, clippedTerm = clippedRatio * A;
    const surrogate = Math.min(unclippedTerm, clippedTerm);
    const dSurrogate = unclippedTerm <= clippedTerm ? ratio * A : 0;
    if (unclippedTerm > clippedTerm) clipped++;
    const refOverPi = Math.exp(g.refLogp[t] - logp[t]);
    const kl = refOverPi - (g.refLogp[t] - logp[t]) - 1;
    loss -= w * (surrogate - beta * kl);
    dlogp[t] = -w * (dSurrogate - beta * (1 - refOverPi));
    klSum += kl;
    tokens++;
  }
  return { loss, dlogp, klSum, clipped, tokens };
}
