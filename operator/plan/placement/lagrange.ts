// Tightens the leaf-cut lower bound of lowerbound.ts with Lagrange multipliers λ_pp on "every stage's D units are
// placed somewhere" (Σ_leaves c_pp = D). For any λ,
//   cut ≥ min over leaf contents of Σ_leaves [cost(c) − Σ_pp λ_pp·c_pp] + D·Σ_pp λ_pp − w·D,
// which stops every leaf from choosing the cheapest rows (e.g. both pipeline ends) at once. λ is improved by a few
// dozen subgradient steps; the best value seen is the bound (each one is valid).

interface PartChoice {
  cost: number[];
  /** vec[s][pp]: the c-vector reaching cost[s]. */
  vec: number[][];
}

function bestParts(PP: number, D: number, maxUnits: number, w: number, h: number[], lambda: number[]): PartChoice {
  const INF = Infinity;
  const S = maxUnits + 1;
  const W = D + 1;
  // cost[pp][u*W + c], back-pointer to the previous c.
  const cost: Float64Array[] = [];
  const back: Int16Array[] = [];
  const first = new Float64Array(S * W).fill(INF);
  for (let c = 0; c <= Math.min(D, maxUnits); c++) first[c * W + c] = 0.5 * w * c + (c > 0 && c < D ? h[0]! : 0) - lambda[0]! * c;
  cost.push(first);
  back.push(new Int16Array(S * W).fill(-1));
  for (let pp = 1; pp < PP; pp++) {
    const prevCost = cost[pp - 1]!;
    const cur = new Float64Array(S * W).fill(INF);
    const bk = new Int16Array(S * W).fill(-1);
    for (let u = 0; u < S; u++) {
      for (let prev = 0; prev <= D; prev++) {
        const base = prevCost[u * W + prev]!;
        if (base === INF) continue;
        for (let c = 0; c <= D && u + c < S; c++) {
          const v = base + 0.5 * w * Math.abs(c - prev) + (c > 0 && c < D ? h[pp]! : 0) - lambda[pp]! * c;
          const at = (u + c) * W + c;
          if (v < cur[at]!) {
            cur[at] = v;
            bk[at] = prev;
          }
        }
      }
    }
    cost.push(cur);
    back.push(bk);
  }
  const out: PartChoice = { cost: [], vec: [] };
  const last = cost[PP - 1]!;
  for (let s = 0; s < S; s++) {
    let best = INF;
    let bc = -1;
    for (let c = 0; c <= D; c++) {
      const v = last[s * W + c]! + 0.5 * w * c;
      if (v < best) {
        best = v;
        bc = c;
      }
    }
    out.cost.push(best);
    const vec = new Array<number>(PP).fill(0);
    if (bc >= 0) {
      let u = s;
      let c = bc;
      for (let pp = PP - 1; pp >= 0; pp--) {
        vec[pp] = c;
        const prev = back[pp]![u * W + c]!;
        u -= c;
        c = prev;
      }
    }
    out.vec.push(vec);
  }
  return out;
}

/** Least Σ part costs over leaves of the given capacities holding exactly U units; returns the sizes used. */
function knapsack(U: number, capacities: readonly number[], part: number[]): { value: number; sizes: number[] } {
  const L = capacities.length;
  const best: Float64Array[] = [new Float64Array(U + 1).fill(Infinity)];
  best[0]![0] = 0;
  const choice: Int32Array[] = [];
  capacities.forEach((k, j) => {
    const cur = best[j]!;
    const next = new Float64Array(U + 1).fill(Infinity);
    const ch = new Int32Array(U + 1).fill(-1);
    for (let u = 0; u <= U; u++) {
      if (cur[u] === Infinity) continue;
      for (let s = 0; s <= Math.min(k, U - u, part.length - 1); s++) {
        const v = cur[u]! + (s === 0 ? 0 : part[s]!);
        if (v < next[u + s]!) {
          next[u + s] = v;
          ch[u + s] = s;
        }
      }
    }
    best.push(next);
    choice.push(ch);
  });
  const sizes: number[] = [];
  let u = U;
  for (let j = L - 1; j >= 0 && u >= 0; j--) {
    const s = choice[j]![u]!;
    if (s < 0) break;
    if (s > 0) sizes.push(s);
    u -= s;
  }
  return { value: best[L]![U]!, sizes };
}

/**
 * Best Lagrangian bound on the leaf cut (bytes), starting from λ = 0 (which equals the plain bound).
 * `upper` (a known placement's cut) sizes the steps; `iterations` bounds the work.
 */
export function lagrangianCut(PP: number, D: number, capacities: readonly number[], w: number, h: number[], upper: number, iterations = 40): number {
  const U = PP * D;
  const maxUnits = Math.min(U, Math.max(...capacities));
  const lambda = new Array<number>(PP).fill(0);
  let bestBound = -Infinity;
  let theta = 1;
  let stall = 0;
  for (let it = 0; it < iterations; it++) {
    const parts = bestParts(PP, D, maxUnits, w, h, lambda);
    const ks = knapsack(U, capacities, parts.cost);
    if (!Number.isFinite(ks.value)) break;
    const sumLambda = lambda.reduce((a, b) => a + b, 0);
    const bound = ks.value + D * sumLambda - w * D;
    if (bound > bestBound + 1e-9 * Math.abs(bound)) {
      bestBound = bound;
      stall = 0;
    } else if (++stall >= 4) {
      theta /= 2;
      stall = 0;
    }
    const g = new Array<number>(PP).fill(D);
    for (const s of ks.sizes) parts.vec[s]!.forEach((c, pp) => (g[pp]! -= c));
    const norm = g.reduce((a, b) => a + b * b, 0);
    if (norm === 0 || upper <= bound) break;
    const step = (theta * (upper - bound)) / norm;
    for (let pp = 0; pp < PP; pp++) lambda[pp]! += step * g[pp]!;
  }
  return Math.max(0, bestBound);
}
