// The environment the operator sets on its pods (pure: names only). The operator writes it in
// controllers/mtj/desired.ts (training) and controllers/infd/desired.ts (serving); the runtime reads it in
// comm/pod-env.ts, checkpoint/resume.ts, parallel/main.ts, parallel/progress-report.ts, kube/configmaps.ts, cli.ts and
// serve/http/main.ts. Variables only the runtime knows (MOE_POD_ROOT, MOE_DIST_*, ...) are not part of it.

/** Every pod that joins a gang, training or serving: torchrun's names, so other runtimes work as they are. */
export const RankEnv = {
  masterAddr: 'MASTER_ADDR',
  masterPort: 'MASTER_PORT',
  worldSize: 'WORLD_SIZE',
  rank: 'RANK',
  nodeRank: 'NODE_RANK',
  nnodes: 'NNODES',
  localRank: 'LOCAL_RANK',
  localWorldSize: 'LOCAL_WORLD_SIZE',
  /** The pod's address (downward API status.podIP): set on serving pods; where a rank's Gloo device listens. */
  podIp: 'POD_IP',
  /** The namespace of the pod and of the ConfigMaps it may read or patch. */
  namespace: 'MOE_NAMESPACE',
} as const;

/** A MoETrainingJob's pods (see DESIGN.md §4). */
export const TrainEnv = {
  ppRank: 'MOE_PP_RANK',
  epRank: 'MOE_EP_RANK',
  dpRank: 'MOE_DP_RANK',
  tpRank: 'MOE_TP_RANK',
  /** Path of the plan document in the pod (configmaps.ts PlanConfigMap, plan-document.ts). */
  plan: 'MOE_PLAN',
  /** `<namespace>/<job>`. */
  job: 'MOE_JOB',
  /** The gang's attempt, 0 for the first. */
  restart: 'MOE_RESTART',
  /** This job's run folder: checkpoints go to <it>/checkpoints/step-N. */
  checkpointDir: 'MOE_CHECKPOINT_DIR',
  /** Name of the report ConfigMap; set on every pod, used by rank 0 (the only pod with a token). */
  reportConfigMap: 'MOE_REPORT_CONFIGMAP',
  /** latest | none | <uri>: spec.checkpoint.resumeFrom. */
  resumeFrom: 'MOE_RESUME_FROM',
  /** The step of the checkpoint the operator recorded, when it has one. */
  resumeStep: 'MOE_RESUME_STEP',
  /** The checkpoint (step folder) the operator recorded, when it has one. */
  resumeUri: 'MOE_RESUME_URI',
  /** Weights-only start: spec.checkpoint.initFrom resolved to a URI. */
  initUri: 'MOE_INIT_URI',
} as const;

/** An InferenceDeployment's pods: routers and the pods of the prefill and decode roles (runtime/src/serve/README.md). */
export const ServeEnv = {
  /** router | prefill | decode. */
  role: 'MOE_SERVE_ROLE',
  deployment: 'MOE_DEPLOYMENT',
  /** The pod's own name (downward API): the key of its load report. */
  podName: 'MOE_POD_NAME',
  modelPath: 'MOE_MODEL_PATH',
  servedModelName: 'MOE_SERVED_MODEL_NAME',
  port: 'MOE_SERVE_PORT',
  replica: 'MOE_REPLICA',
  podIndex: 'MOE_POD_INDEX',
  podsPerReplica: 'MOE_PODS_PER_REPLICA',
  epSize: 'MOE_EP_SIZE',
  // No MOE_TP_SIZE, MOE_DP_SIZE or MOE_REDUNDANT_EXPERTS: the engine has no tensor parallelism, no data-parallel
  // attention degree to take, and gets redundant slots from the placement (phy2log), so nothing would read them.
  maxBatch: 'MOE_MAX_BATCH',
  maxQueue: 'MOE_MAX_QUEUE',
  /** Decode role with spec.roles.decode.speculative: the drafting method (`mtp`) and the tokens drafted per step. */
  speculativeMethod: 'MOE_SPECULATIVE_METHOD',
  speculativeTokens: 'MOE_SPECULATIVE_TOKENS',
  /** Role leaders only (pod index 0, the only role pods with a token). */
  placementConfigMap: 'MOE_PLACEMENT_CONFIGMAP',
  loadConfigMap: 'MOE_LOAD_CONFIGMAP',
  /** Routers only. */
  routingConfigMap: 'MOE_ROUTING_CONFIGMAP',
} as const;
