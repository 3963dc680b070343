// Loads the shared planner (operator/plan/index.ts, planTrainingJob) and adapts it to the reconciler's PlanFn.
// Loaded by path at run time so this package builds while the planner's entry point is being written.
import type { PlanFn, PlanInput } from './reconciler.js';
import type { PlanResult } from '../../plan/types.js';

export async function loadPlanner(): Promise<PlanFn> {
  const entry = '../../plan/index.js';
  const mod = (await import(entry)) as { planTrainingJob?: (input: PlanInput) => PlanResult };
  if (typeof mod.planTrainingJob !== 'function') throw new Error('operator/plan/index.js does not export planTrainingJob');
  const fn = mod.planTrainingJob;
  return (input) => fn(input);
}
