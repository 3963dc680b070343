// The shared planner (operator/plan, planTrainingJob) adapted to the reconciler's PlanFn.
import { planTrainingJob } from '../../plan/index.js';
import type { PlanFn } from './reconciler.js';

export async function loadPlanner(): Promise<PlanFn> {
  return (input) => planTrainingJob(input);
}
