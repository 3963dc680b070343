// The placement works on units: one unit = one EP group (same pp, dp; all ep, tp) = EP·TP consecutive ranks. Leaves
// are the domains of the leaf level; a leaf offers pod slots on its nodes in topology order.
import { leafLevel, type ClusterModel } from './topology.js';
import type { ParallelismSpec } from '../types.js';

export interface LeafSlots {
  /** Domain id of the leaf. */
  leaf: number;
  /** Node index of each pod slot, in node order (a node with room for k pods appears k times in a row). */
  slots: number[];
}

export function leafSlots(cluster: ClusterModel, gpusPerPod: number): LeafSlots[] {
  const lv = leafLevel(cluster);
  const out: LeafSlots[] = [];
  cluster.nodes.forEach((n, i) => {
    const leaf = n.domain[lv]!;
    let cur = out[out.length - 1];
    if (!cur || cur.leaf !== leaf) out.push((cur = { leaf, slots: [] }));
    for (let k = 0; k < Math.floor(n.gpus / gpusPerPod); k++) cur.slots.push(i);
  });
  return out;
}

export interface UnitShape {
  /** Ranks per unit (EP·TP). */
  gpus: number;
  /** Pods per unit; 0 when pods do not tile units (then units are not placed as wholes). */
  pods: number;
  PP: number;
  D: number;
}

export function unitShape(p: ParallelismSpec): UnitShape {
  const gpus = p.expert * p.tensor;
  return { gpus, pods: gpus % p.gpusPerPod === 0 ? gpus / p.gpusPerPod : 0, PP: p.pipeline.stages, D: p.data };
}

/** Unit id of (pp, dp), matching the rank order: unit u holds ranks [u·EP·TP, (u+1)·EP·TP). */
export const unitId = (pp: number, dp: number, PP: number): number => dp * PP + pp;
