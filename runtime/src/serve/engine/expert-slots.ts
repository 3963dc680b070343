// Expert placement on the serving side: validation of the operator's EPLB output (../README.md), the identity
// placement when none is set (slot = expert, experts split evenly over the EP ranks), and the lookup from a logical
// expert to its physical slots.
import type { ExpertPlacement } from './types.js';

export interface ResolvedPlacement {
  version: number;
  gpus: number;
  slotsPerGpu: number;
  /** [moe layer][logical expert] → its physical slots, ascending. */
  slotsOf: number[][][];
}

/** Checks a placement against the model; throws an Error naming the field and the fix. */
export function resolvePlacement(p: ExpertPlacement, moeLayers: number, experts: number): ResolvedPlacement {
  const bad = (m: string): never => {
    throw new Error(`placement: ${m}`);
  };
  if (typeof p !== 'object' || p === null) bad('must be an object {version, gpus, slotsPerGpu, phy2log}');
  if (!Number.isInteger(p.version) || p.version < 0) bad(`version must be an integer >= 0, got ${String(p.version)}`);
  if (!Number.isInteger(p.gpus) || p.gpus < 1) bad(`gpus must be an integer >= 1, got ${String(p.gpus)}`);
  if (!Number.isInteger(p.slotsPerGpu) || p.slotsPerGpu < 1) bad(`slotsPerGpu must be an integer >= 1, got ${String(p.slotsPerGpu)}`);
  if (!Array.isArray(p.phy2log) || p.phy2log.length !== moeLayers) bad(`phy2log must have one row per MoE layer (${moeLayers}), got ${Array.isArray(p.phy2log) ? p.phy2log.length : typeof p.phy2log}`);
  const slots = p.gpus * p.slotsPerGpu;
  if (slots < experts) bad(`gpus × slotsPerGpu = ${slots} slots cannot hold ${experts} experts`);
  const slotsOf = p.phy2log.map((row, l) => {
    if (!Array.isArray(row) || row.length !== slots) bad(`phy2log[${l}] must have gpus × slotsPerGpu = ${slots} entries, got ${Array.isArray(row) ? row.length : typeof row}`);
    const of: number[][] = Array.from({ length: experts }, () => []);
    row.forEach((e, s) => {
      if (!Number.isInteger(e) || e < 0 || e >= experts) bad(`phy2log[${l}][${s}] = ${String(e)} is not an expert id in [0, ${experts})`);
      of[e].push(s);
    });
    const missing = of.findIndex((s) => s.length === 0);
    if (missing >= 0) bad(`phy2log[${l}] gives expert ${missing} no slot; every logical expert needs at least one`);
    return of;
  });
  return { version: p.version, gpus: p.gpus, slotsPerGpu: p.slotsPerGpu, slotsOf };
}

/** No placement: slot = expert, experts split evenly over `gpus` EP ranks (version 0). */
export function identityPlacement(moeLayers: number, experts: number, gpus: number): ResolvedPlacement {
  const g = Math.max(1, Math.min(gpus, experts));
  const slotsPerGpu = Math.ceil(experts / g);
  const slotsOf = Array.from({ length: moeLayers }, () => Array.from({ length: experts }, (_, e) => [e]));
  return { version: 0, gpus: g, slotsPerGpu, slotsOf };
}
