// Types of the planner's inputs and outputs. Everything here is plain data: the plan is JSON-serialisable (it is
// written into the ConfigMap <job>-plan and mounted into pods as MOE_PLAN).
import type { ScheduleName } from './schedule/ops.js';

/** A field-level problem: `field` is a path in the job or topology spec (e.g. `spec.parallelism.expert`). */
export interface FieldError {
  field: string;
  message: string;
}

// ---- cluster --------------------------------------------------------------------------------------------------

export interface Taint {
  key: string;
  value?: string;
  effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute' | string;
}

export interface Toleration {
  key?: string;
  operator?: 'Exists' | 'Equal';
  value?: string;
  effect?: string;
}

/** What the planner needs of a Kubernetes Node (the CLI and the operator convert V1Node into this). */
export interface NodeLike {
  name: string;
  labels: Record<string, string>;
  /** Allocatable GPUs (the topology's gpuResource) not yet used by other pods. */
  allocatableGpus: number;
  unschedulable?: boolean;
  taints?: Taint[];
  /** False when the node's Ready condition is not True; absent means ready. */
  ready?: boolean;
}

export interface TopologyLevel {
  name: string;
  nodeLabel: string;
  /** Usable per-GPU bandwidth across this level, GB/s (the CRD's field). */
  gbpsPerGpu: number;
}

/** The spec of a ClusterTopology object; levels fastest → slowest. */
export interface TopologySpec {
  levels: TopologyLevel[];
  gpuResource?: string;
  gpusPerNode?: number;
  rdmaResource?: string;
  rails?: number;
  nodeSelector?: Record<string, string>;
}

// ---- model ----------------------------------------------------------------------------------------------------

/** Architecture fields, named as in DeepSeek-V3's config.json. */
export interface ModelConfig {
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  moe_intermediate_size: number;
  num_hidden_layers: number;
  first_k_dense_replace: number;
  num_attention_heads: number;
  q_lora_rank: number;
  kv_lora_rank: number;
  qk_nope_head_dim: number;
  qk_rope_head_dim: number;
  v_head_dim: number;
  n_routed_experts: number;
  n_shared_experts: number;
  num_experts_per_tok: number;
  n_group: number;
  topk_group: number;
  routed_scaling_factor: number;
  num_nextn_predict_layers: number;
}

// ---- job ------------------------------------------------------------------------------------------------------

export interface ParallelismSpec {
  pipeline: { stages: number; schedule: Exclude<ScheduleName, 'ZB1P'>; microBatches: number };
  expert: number;
  data: number;
  tensor: number;
  gpusPerPod: number;
}

export interface TrainingShape {
  sequenceLength: number;
  /** Sequences per micro-batch on one data-parallel replica (one EP rank); derived from globalBatchSize if absent. */
  microBatchSize: number;
}

export interface PackingSpec {
  /** Pack: fill the fewest, closest domains (the planner's optimiser). Spread: kube-scheduler-like spreading. */
  strategy: 'Pack' | 'Spread';
  excludeNodes: string[];
  /** Per level: `required` fails the plan when a group must cross it; `preferred` only explains. */
  rules: PackingRule[];
}

export interface PackingRule {
  /** Topology level name, e.g. `leaf`. */
  level: string;
  /** Which group must stay inside one domain of the level. */
  group: 'expert' | 'pipelineNeighbours' | 'pod';
  mode: 'required' | 'preferred';
}

// ---- plan -----------------------------------------------------------------------------------------------------

/**
 * Rank order (fixed, documented): TP fastest, then EP, then PP, then DP slowest:
 *   rank = ((dp · PP + pp) · EP + ep) · TP + tp
 * so one EP group (the heaviest all-to-all) is a contiguous run of ranks and lands on consecutive GPUs/nodes; a pod
 * holds `gpusPerPod` consecutive ranks.
 */
export interface RankCoords {
  pp: number;
  ep: number;
  dp: number;
  tp: number;
}

/** Compact rank table: parallel arrays indexed by rank (keeps the ConfigMap small at 16k ranks). */
export interface RankTable {
  order: 'tp,ep,pp,dp';
  pp: number[];
  ep: number[];
  dp: number[];
  tp: number[];
  /** Pod index of each rank, and the rank's local index inside the pod (LOCAL_RANK). */
  pod: number[];
  local: number[];
}

export interface StageInfo {
  /** Pipeline rank. */
  ppRank: number;
  /** Model stages this pipeline rank holds (two under DualPipe/DualPipeV). */
  stages: number[];
  /** Transformer layers [first, last) of each held stage, same order as `stages`. */
  layers: [number, number][];
  /** Whether the held stages include the embedding / the output head + MTP. */
  embedding: boolean;
  head: boolean;
}

export interface PodPlacement {
  pod: number;
  node: string;
  /** First rank of the pod; the pod holds ranks [firstRank, firstRank + gpusPerPod). */
  firstRank: number;
  /** Node selector the operator injects (hostname). */
  nodeSelector: Record<string, string>;
}

export interface LevelTraffic {
  level: string;
  gbpsPerGpu: number;
  /** Bytes per optimizer step whose slowest link is this level, by kind. */
  bytesPerStep: number;
  ep: number;
  pp: number;
  dp: number;
}

export interface PlacementSummary {
  strategy: 'Pack' | 'Spread' | 'Random';
  traffic: LevelTraffic[];
  /** Bytes per step between nodes of different leaves (or of the slowest level with a label below the top). */
  crossLeafBytes: number;
  crossLeafLowerBound: number;
  /** Σ bytes / bandwidth over all levels, in seconds of GPU-link time (the objective). */
  weightedCost: number;
  weightedLowerBound: number;
  /** lowerBound / cost: 1 means the placement reaches the bound. */
  score: number;
  /** Slowest rank's Σ bytes/bandwidth per step (seconds), ignoring overlap with compute. */
  estCommSecondsPerStep: number;
  explanations: string[];
}

export interface MemoryEstimate {
  /** Parameters held by the most loaded rank (both stages under DualPipe). */
  params: number;
  weightBytes: number;
  gradBytes: number;
  optimizerBytes: number;
  activationBytes: number;
  totalBytes: number;
  peakActivationChunks: number;
}

export interface TrainingPlan {
  version: 1;
  model: ModelConfig & { preset?: string };
  parallelism: ParallelismSpec;
  worldSize: number;
  pods: number;
  gpusPerPod: number;
  rankTable: RankTable;
  stages: StageInfo[];
  /** Routed experts of each EP rank: [ep][k] = expert id (the initial, unbalanced layout; EPLB may move them). */
  expertsByEpRank: number[][];
  placement: PodPlacement[];
  summary: PlacementSummary;
  memory: MemoryEstimate;
  schedule: { name: ScheduleName; microBatches: number; bubbleFormula: string };
  params: { total: number; active: number; mtp: number };
  excludedNodes: { name: string; reason: string }[];
}

export type PlanResult = { ok: true; plan: TrainingPlan } | { ok: false; errors: FieldError[] };
