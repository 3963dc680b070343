// Process groups of a rank from the plan's rank table (pure). The table orders ranks tp fastest, then ep, pp, dp.
// The runtime has no tensor parallelism; the data group of a rank is every rank with its pipeline rank (EP × DP of
// them): the batch is split over it. Expert all-to-all and holder groups come from param-placement.ts / rank-engine.ts.

export interface RankTableLike {
  pp: number[];
  ep: number[];
  dp: number[];
  tp: number[];
}

export interface RankGroups {
  /** Global ranks of this rank's pipeline, in pipeline order. */
  pp: number[];
  /** Global ranks with this rank's pipeline rank, in rank order (the data replicas: EP × DP). */
  dp: number[];
}

export function rankGroups(t: RankTableLike, rank: number): RankGroups {
  const n = t.pp.length;
  for (const k of ['ep', 'dp', 'tp'] as const) {
    if (t[k].length !== n) throw new Error(`plan rankTable.${k} has ${t[k].length} entries, rankTable.pp has ${n}`);
  }
  if (rank < 0 || rank >= n) throw new Error(`RANK ${rank} is outside the plan's rank table of ${n} ranks`);
  if (t.tp.some((x) => x !== 0)) throw new Error('plan uses tensor parallelism (parallelism.tensor > 1): this runtime has none; set it to 1');
  const all = Array.from({ length: n }, (_, r) => r);
  const pp = all.filter((r) => t.ep[r] === t.ep[rank] && t.dp[r] === t.dp[rank]).sort((a, b) => t.pp[a] - t.pp[b]);
  const dp = all.filter((r) => t.pp[r] === t.pp[rank]);
  pp.forEach((r, i) => {
    if (t.pp[r] !== i) throw new Error(`plan rankTable: pipeline of rank ${rank} lacks pipeline rank ${i}`);
  });
  return { pp, dp };
}
