// What the expert-parallel worker and its test share.
import type { ExpertPlacement } from '../../../runtime/src/serve/engine/types.js';

export const EP_SEED = 7;
export const EP_PROMPTS = ['the cat sat', 'expert parallel', 'a', 'MoE layers route tokens'];

/** 8 experts, 2 MoE layers, 4 slots per rank: each expert once, spares replicate experts 0..(size·4-9). */
export function epPlacement(size: number): ExpertPlacement {
  const slots = size * 4;
  const row = Array.from({ length: slots }, (_, s) => (s < 8 ? (s * 3) % 8 : s - 8));
  // Two GPUs per pod, as the operator counts them (EP size = pods × GPUs per pod): each process hosts 2 × 2 slots.
  return { version: 3, gpus: 2 * size, slotsPerGpu: 2, phy2log: [row, [...row].reverse()] };
}
