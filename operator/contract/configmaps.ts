// The ConfigMaps between the operator and its pods (pure): their names, derived from the job's or the deployment's
// name, and their data keys. What each key holds: plan-document.ts, reports.ts, routes.ts, expert-placement.ts.

/** `<job>-plan`: the operator writes data["plan.json"] (plan-document.ts); every pod of the job mounts it. */
export const PlanConfigMap = {
  name: (job: string) => `${job}-plan`,
  key: 'plan.json',
  /** Where the pods see the ConfigMap; MOE_PLAN is `<mountPath>/<key>`. */
  mountPath: '/etc/moe/plan',
} as const;

/** `<job>-report`: the operator owns its metadata only; rank 0 merge-patches these keys of `data` (reports.ts). */
export const ReportConfigMap = {
  name: (job: string) => `${job}-report`,
  keys: { progress: 'progress', checkpoint: 'checkpoint' },
} as const;

/** `<deployment>-routing`: the operator writes data.routes (routes.ts); the routers poll it. */
export const RoutingConfigMap = {
  name: (deployment: string) => `${deployment}-routing`,
  key: 'routes',
} as const;

/**
 * `<deployment>-placement`: the operator writes one key per role (`prefill`, `decode`) with that role's expert
 * placement (expert-placement.ts), which its role leaders poll; and `eplb-state`, the operator's own smoothed loads
 * (kept there so that they survive an operator restart; no pod reads it).
 */
export const PlacementConfigMap = {
  name: (deployment: string) => `${deployment}-placement`,
  stateKey: 'eplb-state',
} as const;

/** `<deployment>-expert-load`: each role leader merge-patches the key named after its own pod (reports.ts). */
export const LoadConfigMap = {
  name: (deployment: string) => `${deployment}-expert-load`,
} as const;
