// Names shared by the operator, the chart, the runtime and the tests. Changing one is an API change. The names and
// keys of the ConfigMaps and the env the pods see are the pod contract's (../contract/).
import { LoadConfigMap, PlacementConfigMap, PlanConfigMap, ReportConfigMap, RoutingConfigMap } from '../contract/configmaps.js';
import { EvalConfigMaps } from '../contract/evaluation.js';

export const GROUP = 'moe.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
/** The runtime image of this release (`make images`): what a template without containers runs. Kept equal to
 *  package.json's version by test/unit/api/runtime-image.test.ts. */
export const RUNTIME_IMAGE = 'ghcr.io/moe-operator/moe-runtime:0.1.0';
export const MTJ_KIND = 'MoETrainingJob';
export const MTJ_PLURAL = 'moetrainingjobs';
export const TOPOLOGY_KIND = 'ClusterTopology';
export const TOPOLOGY_PLURAL = 'clustertopologies';

/** The one server-side-apply field manager of the operator. */
export const FIELD_MANAGER = 'moe-operator';
/** Holds the job until its pods are gone, so a re-created job of the same name never meets old pods. */
export const FINALIZER = 'moe.io/cleanup';
/** The scheduling gate every pod is created with; removed from all pods of a gang at once. */
export const SCHEDULING_GATE = 'moe.io/gang';

export const Labels = {
  job: 'moe.io/job-name',
  podIndex: 'moe.io/pod-index',
  stage: 'moe.io/stage',
  attempt: 'moe.io/attempt',
  component: 'moe.io/component',
  managedBy: 'app.kubernetes.io/managed-by',
} as const;

/** Job labels with these prefixes/keys are copied to pods (Kueue, Volcano). */
export const QUEUE_LABEL_KEYS = ['kueue.x-k8s.io/queue-name', 'kueue.x-k8s.io/priority-class', 'volcano.sh/queue-name'] as const;
export const QUEUE_LABEL_PREFIXES = ['kueue.x-k8s.io/', 'volcano.sh/', 'scheduling.x-k8s.io/'] as const;

export const Annotations = {
  /** On pods: the plan's hash, so a changed plan is visible. */
  planHash: 'moe.io/plan-hash',
} as const;

export const ConditionType = {
  Valid: 'Valid',
  Planned: 'Planned',
  GangReleased: 'GangReleased',
  Running: 'Running',
  Suspended: 'Suspended',
  Restarting: 'Restarting',
  Succeeded: 'Succeeded',
  Failed: 'Failed',
  /** An object with a child's name exists and this job does not control it (left untouched). */
  NameConflict: 'NameConflict',
  /** The API server refused a child write (invalid pod, Pod Security, ...); retried with backoff. */
  WriteFailed: 'WriteFailed',
  /** training.mode grpo: a judge InferenceDeployment is missing, not serving, or its calls fail (the URL and error). */
  JudgeUnavailable: 'JudgeUnavailable',
} as const;
export type ConditionType = (typeof ConditionType)[keyof typeof ConditionType];

export const Reason = {
  SpecValid: 'SpecValid',
  InvalidSpec: 'InvalidSpec',
  TopologyNotFound: 'TopologyNotFound',
  Unschedulable: 'Unschedulable',
  PlanReady: 'PlanReady',
  PlacementDegraded: 'PlacementDegraded',
  WaitingForPods: 'WaitingForPods',
  GangReleased: 'GangReleased',
  PodsStarting: 'PodsStarting',
  AllRanksRunning: 'AllRanksRunning',
  RankFailed: 'RankFailed',
  BackoffPending: 'BackoffPending',
  GangRestarted: 'GangRestarted',
  RestartBudgetExhausted: 'RestartBudgetExhausted',
  FailedByRule: 'FailedByRule',
  RankZeroSucceeded: 'RankZeroSucceeded',
  SuspendedBySpec: 'SuspendedBySpec',
  Resumed: 'Resumed',
  CheckpointRecorded: 'CheckpointRecorded',
  /** spec.checkpoint.initFrom.trainingJob has not Succeeded (or does not exist) yet. */
  InitSourceNotReady: 'InitSourceNotReady',
  NameConflict: 'NameConflict',
  /** The conflicting object belongs to a deleted resource of the same name: the garbage collector removes it. */
  WaitingForGarbageCollection: 'WaitingForGarbageCollection',
  FailedCreate: 'FailedCreate',
  FailedApply: 'FailedApply',
  FailedPatch: 'FailedPatch',
  /** A NameConflict or WriteFailed condition cleared: the writes went through. */
  ChildrenWritten: 'ChildrenWritten',
  /** GRPO judges: the InferenceDeployment does not exist / is not Available yet / its calls failed / it answers. */
  JudgeNotFound: 'JudgeNotFound',
  JudgeNotReady: 'JudgeNotReady',
  JudgeCallsFailed: 'JudgeCallsFailed',
  JudgeAnswering: 'JudgeAnswering',
  JudgesResolved: 'JudgesResolved',
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];

export const Phase = {
  Pending: 'Pending',
  Starting: 'Starting',
  Running: 'Running',
  Restarting: 'Restarting',
  Suspended: 'Suspended',
  Succeeded: 'Succeeded',
  Failed: 'Failed',
  Invalid: 'Invalid',
  Unschedulable: 'Unschedulable',
} as const;
export type Phase = (typeof Phase)[keyof typeof Phase];

/** Child object names, derived from the job name (all ≤ 63 chars when the job name is ≤ 40). */
export const childNames = (job: string) => ({
  planConfigMap: PlanConfigMap.name(job),
  reportConfigMap: ReportConfigMap.name(job),
  service: job,
  reporterServiceAccount: `${job}-reporter`,
  reporterRole: `${job}-reporter`,
  pod: (index: number) => `${job}-${index}`,
});

// ---- InferenceDeployment / InferenceRole (operator/controllers/infd) -------------------------------------------

export const INFD_KIND = 'InferenceDeployment';
export const INFD_PLURAL = 'inferencedeployments';
export const INFROLE_KIND = 'InferenceRole';
export const INFROLE_PLURAL = 'inferenceroles';

/** The two scalable roles of a deployment; the router is not a role (no gang, no InferenceRole). */
export const ROLES = ['prefill', 'decode'] as const;
export type RoleName = (typeof ROLES)[number];

export const InfdLabels = {
  deployment: 'moe.io/deployment-name',
  /** prefill, decode or router. */
  role: 'moe.io/role',
  replica: 'moe.io/replica',
  podIndex: Labels.podIndex,
  /** Hash of the role's pod-relevant spec; a different value means the pod belongs to an older rollout. */
  revision: 'moe.io/revision',
  component: Labels.component,
  managedBy: Labels.managedBy,
} as const;

export const InfdAnnotations = {
  /** On an InferenceRole: the deployment's spec.roles.<role>.replicas last copied into its spec.replicas. */
  propagatedReplicas: 'moe.io/propagated-replicas',
} as const;

export const InfdConditionType = {
  Valid: 'Valid',
  ModelReady: 'ModelReady',
  Available: 'Available',
  Progressing: 'Progressing',
  Degraded: 'Degraded',
  NameConflict: ConditionType.NameConflict,
  WriteFailed: ConditionType.WriteFailed,
} as const;

export const InfdReason = {
  SpecValid: 'SpecValid',
  InvalidSpec: 'InvalidSpec',
  ModelResolved: 'ModelResolved',
  TrainingJobNotFound: 'TrainingJobNotFound',
  WaitingForTrainingJob: 'WaitingForTrainingJob',
  TrainingJobFailed: 'TrainingJobFailed',
  TopologyNotFound: 'TopologyNotFound',
  InsufficientCapacity: 'InsufficientCapacity',
  GangReleased: 'GangReleased',
  ScaledUp: 'ScaledUp',
  ScaledDown: 'ScaledDown',
  RolloutStep: 'RolloutStep',
  RolloutComplete: 'RolloutComplete',
  RouterUpdated: 'RouterUpdated',
  ReplicaRestarted: 'ReplicaRestarted',
  ReplicasPropagated: 'ReplicasPropagated',
  Rebalanced: 'Rebalanced',
  AllReplicasReady: 'AllReplicasReady',
  ReplicasUnavailable: 'ReplicasUnavailable',
  RolloutInProgress: 'RolloutInProgress',
  ScalingInProgress: 'ScalingInProgress',
  Stable: 'Stable',
  ReplicaFailed: 'ReplicaFailed',
  /** A failed replica waits out its restart backoff (spec.failurePolicy.backoff). */
  RestartBackoff: 'RestartBackoff',
  /** A replica failed more than spec.failurePolicy.maxRestarts times in a row and is not restarted again. */
  RestartBudgetExhausted: 'RestartBudgetExhausted',
  /** Available, but not every desired replica is ready. */
  MinimumReplicasAvailable: 'MinimumReplicasAvailable',
  Healthy: 'Healthy',
} as const;

export const InfdPhase = {
  Pending: 'Pending',
  WaitingForModel: 'WaitingForModel',
  Progressing: 'Progressing',
  Available: 'Available',
  Degraded: 'Degraded',
  Invalid: 'Invalid',
} as const;
export type InfdPhase = (typeof InfdPhase)[keyof typeof InfdPhase];

/** Child object names of an InferenceDeployment (pod hostnames stay ≤ 63 characters for names ≤ 40). */
export const infdNames = (d: string) => ({
  service: d,
  headless: `${d}-pods`,
  routingConfigMap: RoutingConfigMap.name(d),
  placementConfigMap: PlacementConfigMap.name(d),
  loadConfigMap: LoadConfigMap.name(d),
  routerServiceAccount: `${d}-router`,
  leaderServiceAccount: `${d}-leader`,
  role: (r: RoleName) => `${d}-${r}`,
  pod: (r: RoleName, replica: number, index: number) => `${d}-${r}-${replica}-${index}`,
  routerPod: (i: number) => `${d}-router-${i}`,
});

// ---- MoEEvaluation (operator/controllers/eval) --------------------------------------------------------------------

export const EVAL_KIND = 'MoEEvaluation';
export const EVAL_PLURAL = 'moeevaluations';

export const EvalLabels = {
  evaluation: 'moe.io/evaluation-name',
  /** The run (0, 1, ...) a pod belongs to. */
  run: 'moe.io/eval-run',
  component: Labels.component,
  managedBy: Labels.managedBy,
} as const;

export const EvalAnnotations = {
  /** On an evaluation pod: the training checkpoint it evaluates (step and URI), when the target is one. */
  checkpointStep: 'moe.io/checkpoint-step',
  checkpointUri: 'moe.io/checkpoint-uri',
} as const;

/** Child object names of a MoEEvaluation (all ≤ 63 characters for names ≤ 40). */
export const evalNames = (e: string) => ({
  planConfigMap: EvalConfigMaps.plan.name(e),
  reportConfigMap: EvalConfigMaps.report.name(e),
  serviceAccount: `${e}-eval`,
  pod: (run: number) => `${e}-eval-${run}`,
});

export const EvalConditionType = {
  Valid: 'Valid',
  /** The target exists and can be evaluated (a deployment Available, a training job found). */
  TargetReady: 'TargetReady',
  /** False when the last run could not reach the model (pod exit code 3). */
  ModelReachable: 'ModelReachable',
  Complete: 'Complete',
  Failed: 'Failed',
  Suspended: 'Suspended',
  NameConflict: ConditionType.NameConflict,
  WriteFailed: ConditionType.WriteFailed,
} as const;

export const EvalReason = {
  TargetFound: 'TargetFound',
  DeploymentNotFound: 'DeploymentNotFound',
  WaitingForDeployment: 'WaitingForDeployment',
  TrainingJobNotFound: 'TrainingJobNotFound',
  TrainingJobFailed: 'TrainingJobFailed',
  WaitingForCheckpoints: 'WaitingForCheckpoints',
  Evaluating: 'Evaluating',
  Evaluated: 'Evaluated',
  Reached: 'Reached',
  /** The pod's reasons (contract EVAL_FAILURE_REASONS) and the operator's own. */
  ModelUnreachable: 'ModelUnreachable',
  BadTasks: 'BadTasks',
  Failed: 'Failed',
  ResultMissing: 'ResultMissing',
  PodMissing: 'PodMissing',
  SuspendedBySpec: 'SuspendedBySpec',
  Resumed: 'Resumed',
  RunStarted: 'RunStarted',
  CheckpointQueued: 'CheckpointQueued',
} as const;

export const EvalPhase = { Pending: 'Pending', Running: 'Running', Succeeded: 'Succeeded', Failed: 'Failed', Invalid: 'Invalid' } as const;
