// The expert placement the operator publishes for a serving role (pure): key `prefill` or `decode` of
// <deployment>-placement. The operator's EPLB round writes it (controllers/infd/expert-rebalance.ts decides it); the
// role's leader polls it (runtime/src/serve/http/operator-sync.ts) and hands it to its engine when the version changes.
import { finite, int, integer, matrix, object, optional, parseJson } from './fields.js';

export interface ExpertPlacementDoc {
  /** One more than the role's previous placement; the leader applies each version once. */
  version: number;
  gpus: number;
  slotsPerGpu: number;
  /** [moe layer][physical slot] → logical expert; slot s lives on GPU floor(s / slotsPerGpu). */
  phy2log: number[][];
  /** [moe layer][logical expert] → how many slots hold the expert (the operator writes it; the engine counts its own). */
  logcnt?: number[][];
  /** Σ busiest GPU's load / Σ mean GPU load over the layers, before and after this placement (1 = balanced). */
  balance?: { before: number; after: number };
}

export const formatPlacement = (p: ExpertPlacementDoc): string => JSON.stringify(p);

export function parsePlacement(text: string, source: string): ExpertPlacementDoc {
  const o = object(parseJson(text, source, '{version, gpus, slotsPerGpu, phy2log, logcnt, balance}'), source, '');
  const out: ExpertPlacementDoc = {
    version: int(o.version, source, 'version'),
    gpus: int(o.gpus, source, 'gpus'),
    slotsPerGpu: int(o.slotsPerGpu, source, 'slotsPerGpu'),
    phy2log: matrix(o.phy2log, source, 'phy2log', (x, f) => integer(x, source, f)),
  };
  const logcnt = optional(o, 'logcnt', (v) => matrix(v, source, 'logcnt', (x, f) => int(x, source, f)));
  if (logcnt) out.logcnt = logcnt;
  const balance = optional(o, 'balance', (v) => {
    const b = object(v, source, 'balance');
    return { before: finite(b.before, source, 'balance.before'), after: finite(b.after, source, 'balance.after') };
  });
  if (balance) out.balance = balance;
  return out;
}

/** The operator's view of its own published placement: undefined when there is none or it is not one. */
export function readPlacement(text: string | undefined): ExpertPlacementDoc | undefined {
  if (!text) return undefined;
  try {
    return parsePlacement(text, '');
  } catch {
    return undefined;
  }
}
