// Group-relative advantages (pure): the G samples of one prompt form a group, and each sample's advantage is its
// reward normalised within the group, A_i = (r_i − mean(r)) / (std(r) + eps) (DeepSeekMath §4.1.2, outcome
// supervision: every token of the response gets A_i). std is the population standard deviation. A group whose rewards
// are all equal carries no signal: its advantages are 0.
export const ADVANTAGE_EPS = 1e-4;

export interface GroupStats {
  /** Per sample, in the rewards' order. */
  advantages: Float64Array;
  /** Groups whose rewards are not all equal (non-zero variance). */
  groupsWithSignal: number;
  groups: number;
}

export function groupAdvantages(rewards: ArrayLike<number>, G: number, eps = ADVANTAGE_EPS): GroupStats {
  if (!Number.isInteger(G) || G < 1) throw new Error(`group size must be an integer >= 1, got ${G}`);
  if (rewards.length % G !== 0) throw new Error(`${rewards.length} rewards do not split into groups of ${G}`);
  const groups = rewards.length / G;
  const advantages = new Float64Array(rewards.length);
  let groupsWithSignal = 0;
  for (let g = 0; g < groups; g++) {
    let mean = 0;
    for (let i = 0; i < G; i++) mean += rewards[g * G + i];
    mean /= G;
    let v = 0;
    for (let i = 0; i < G; i++) v += (rewards[g * G + i] - mean) ** 2;
    const std = Math.sqrt(v / G);
    if (std > 0) groupsWithSignal++;
    else continue;
    for (let i = 0; i < G; i++) advantages[g * G + i] = (rewards[g * G + i] - mean) / (std + eps);
  }
  return { advantages, groupsWithSignal, groups };
}

/** Mean and population standard deviation. */
export function meanStd(x: ArrayLike<number>): { mean: number; std: number } {
  if (x.length === 0) return { mean: 0, std: 0 };
  let m = 0;
  for (let i = 0; i < x.length; i++) m += x[i];
  m /= x.length;
  let v = 0;
  for (let i = 0; i < x.length; i++) v += (x[i] - m) ** 2;
  return { mean: m, std: Math.sqrt(v / x.length) };
}
