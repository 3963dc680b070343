// GENERATED from crds/*.yaml by operator/api/gen.ts. Do not edit: change the CRD, then run
//   node dist/operator/api/gen.js           (write)
//   node dist/operator/api/gen.js --check   (fail on drift; part of make verify)
/* eslint-disable */
import { Model, createTypeMetaGuard, type ModelData, type TypeMeta } from '@kubernetes-models/base';
import type { IObjectMeta } from '@kubernetes-models/apimachinery/apis/meta/v1/ObjectMeta';
import type { JSONSchema } from './schema-to-ts.js';

// ---- moe.io_clustertopologies.yaml (v1alpha1) ----

export interface IClusterTopologySpecLevelsItem {
  /** Short name of the level (nvlink, host, leaf, spine), used in plans and status. */
  "name": string;
  /** Node label whose value identifies the domain of this level a node belongs to. */
  "nodeLabel": string;
  /** Usable bandwidth per GPU across this level in GB/s (e.g. 160 for NVLink, 50 for InfiniBand). */
  "gbpsPerGpu": number;
}

/** The fleet's link hierarchy and GPU resources. */
export interface IClusterTopologySpec {
  /** Levels ordered from the fastest link to the slowest, e.g. nvlink (moe.io/nvlink-domain), host (kubernetes.io/hostname), leaf (moe.io/leaf), spine (moe.io/spine). Two nodes share a level when they carry the same value of that level's label. */
  "levels": Array<IClusterTopologySpecLevelsItem>;
  /** Extended resource name that counts GPUs on a node. Default: "nvidia.com/gpu". */
  "gpuResource"?: string;
  /** GPUs on each node of the fleet. Default: 8. */
  "gpusPerNode"?: number;
  /** Extended resource name of the InfiniBand/RDMA devices requested by every pod; empty for none. Default: "rdma/ib". */
  "rdmaResource"?: string;
  /** Number of InfiniBand rails (NIC i of every node on rail i); 0 when the fleet is not rail-optimised. Rail-aligned placement keeps a rank's local index equal across nodes. Default: 0. */
  "rails"?: number;
  /** Only nodes carrying all these labels belong to the fleet. */
  "nodeSelector"?: Record<string, string>;
}

/** Written by the operator. */
export interface IClusterTopologyStatus {
  /** The level names from the fastest link to the slowest, comma-separated (e.g. nvlink,host,leaf,spine), for the LEVELS column of kubectl get; set by the operator from spec.levels. */
  "levels"?: string;
}

/** ClusterTopology describes the network of a GPU fleet so the planner can place the ranks of a job: an ordered list of levels from the fastest link (NVLink domain) to the slowest (spine), each mapped to the node label whose value names the domain a node belongs to, with the per-GPU bandwidth of that level. MoETrainingJobs refer to one by name (spec.topologyRef.name); the chart installs one named "default". */
export interface IClusterTopology extends TypeMeta {
  "apiVersion": "moe.io/v1alpha1";
  "kind": "ClusterTopology";
  "metadata"?: IObjectMeta;
  /** The fleet's link hierarchy and GPU resources. */
  "spec": IClusterTopologySpec;
  /** Written by the operator. */
  "status"?: IClusterTopologyStatus;
}

export class ClusterTopology extends Model<IClusterTopology> implements IClusterTopology {
  declare "apiVersion": IClusterTopology["apiVersion"];
  declare "kind": IClusterTopology["kind"];
  declare "metadata"?: IObjectMeta;
  declare "spec": IClusterTopology["spec"];
  declare "status"?: IClusterTopology["status"];
  static readonly apiVersion = "moe.io/v1alpha1";
  static readonly kind = "ClusterTopology";
  static readonly is = createTypeMetaGuard<IClusterTopology>({ apiVersion: "moe.io/v1alpha1", kind: "ClusterTopology" });
  constructor(data?: ModelData<IClusterTopology>) {
    super({ apiVersion: "moe.io/v1alpha1", kind: "ClusterTopology", ...data } as ModelData<IClusterTopology>);
  }
}

/** The openAPIV3Schema of ClusterTopology v1alpha1, for defaulting and tests. */
export const ClusterTopologySchema: JSONSchema = {
  "type": "object",
  "description": "ClusterTopology describes the network of a GPU fleet so the planner can place the ranks of a job: an ordered list of levels from the fastest link (NVLink domain) to the slowest (spine), each mapped to the node label whose value names the domain a node belongs to, with the per-GPU bandwidth of that level. MoETrainingJobs refer to one by name (spec.topologyRef.name); the chart installs one named \"default\".",
  "required": [
    "spec"
  ],
  "properties": {
    "apiVersion": {
      "type": "string",
      "description": "APIVersion defines the versioned schema of this representation of an object."
    },
    "kind": {
      "type": "string",
      "description": "Kind is a string value representing the REST resource this object represents."
    },
    "metadata": {
      "type": "object"
    },
    "spec": {
      "type": "object",
      "description": "The fleet's link hierarchy and GPU resources.",
      "required": [
        "levels"
      ],
      "x-kubernetes-validations": [
        {
          "rule": "self.levels.all(l, self.levels.exists_one(m, m.nodeLabel == l.nodeLabel))",
          "message": "spec.levels node labels must be unique (one label per level)"
        }
      ],
      "properties": {
        "levels": {
          "type": "array",
          "minItems": 1,
          "maxItems": 8,
          "x-kubernetes-list-type": "map",
          "x-kubernetes-list-map-keys": [
            "name"
          ],
          "description": "Levels ordered from the fastest link to the slowest, e.g. nvlink (moe.io/nvlink-domain), host (kubernetes.io/hostname), leaf (moe.io/leaf), spine (moe.io/spine). Two nodes share a level when they carry the same value of that level's label.",
          "items": {
            "type": "object",
            "required": [
              "name",
              "nodeLabel",
              "gbpsPerGpu"
            ],
            "properties": {
              "name": {
                "type": "string",
                "description": "Short name of the level (nvlink, host, leaf, spine), used in plans and status.",
                "pattern": "^[a-z][a-z0-9-]{0,30}$",
                "maxLength": 31
              },
              "nodeLabel": {
                "type": "string",
                "description": "Node label whose value identifies the domain of this level a node belongs to.",
                "minLength": 1,
                "maxLength": 128
              },
              "gbpsPerGpu": {
                "type": "number",
                "description": "Usable bandwidth per GPU across this level in GB/s (e.g. 160 for NVLink, 50 for InfiniBand).",
                "minimum": 0,
                "maximum": 1000000,
                "exclusiveMinimum": true
              }
            }
          }
        },
        "gpuResource": {
          "type": "string",
          "default": "nvidia.com/gpu",
          "description": "Extended resource name that counts GPUs on a node."
        },
        "gpusPerNode": {
          "type": "integer",
          "default": 8,
          "minimum": 1,
          "maximum": 1024,
          "description": "GPUs on each node of the fleet."
        },
        "rdmaResource": {
          "type": "string",
          "default": "rdma/ib",
          "description": "Extended resource name of the InfiniBand/RDMA devices requested by every pod; empty for none."
        },
        "rails": {
          "type": "integer",
          "default": 0,
          "minimum": 0,
          "maximum": 64,
          "description": "Number of InfiniBand rails (NIC i of every node on rail i); 0 when the fleet is not rail-optimised. Rail-aligned placement keeps a rank's local index equal across nodes."
        },
        "nodeSelector": {
          "type": "object",
          "additionalProperties": {
            "type": "string"
          },
          "description": "Only nodes carrying all these labels belong to the fleet."
        }
      }
    },
    "status": {
      "type": "object",
      "description": "Written by the operator.",
      "properties": {
        "levels": {
          "type": "string",
          "description": "The level names from the fastest link to the slowest, comma-separated (e.g. nvlink,host,leaf,spine), for the LEVELS column of kubectl get; set by the operator from spec.levels."
        }
      }
    }
  }
};

// ---- moe.io_inferencedeployments.yaml (v1alpha1) ----

/** A model folder (DeepSeek-layout export, or a run folder with checkpoints). */
export interface IInferenceDeploymentSpecModelCheckpoint {
  /** file:// URI of the model folder as the pods see it (mount it through the template). */
  "uri": string;
}

/** A MoETrainingJob in the same namespace. Its inference export (<spec.checkpoint.uri>/<namespace>/<job>/export, written by rank 0 at the end of training) is served once the job has Succeeded; until then the deployment waits (ModelReady=False). */
export interface IInferenceDeploymentSpecModelTrainingJob {
  /** Name of the MoETrainingJob. */
  "name": string;
}

/** The model's architecture, for validation and EPLB (expert count, expert groups, MoE layers). Optional: taken from the MoETrainingJob when the model comes from one; without it, EPLB reads the expert count from the reported loads and balances without groups. */
export interface IInferenceDeploymentSpecModelArchitecture {
  /** A named architecture (as in MoETrainingJob spec.model.preset). */
  "preset"?: "deepseek-v3-671b" | "deepseek-v3-tiny";
  /** Explicit architecture; the fields of MoETrainingJob spec.model.config (DeepSeek-V3 config.json names). */
  "config"?: Record<string, unknown>;
}

/** Where the weights come from. Exactly one of checkpoint or trainingJob. */
export interface IInferenceDeploymentSpecModel {
  /** A model folder (DeepSeek-layout export, or a run folder with checkpoints). */
  "checkpoint"?: IInferenceDeploymentSpecModelCheckpoint;
  /** A MoETrainingJob in the same namespace. Its inference export (<spec.checkpoint.uri>/<namespace>/<job>/export, written by rank 0 at the end of training) is served once the job has Succeeded; until then the deployment waits (ModelReady=False). */
  "trainingJob"?: IInferenceDeploymentSpecModelTrainingJob;
  /** The model's architecture, for validation and EPLB (expert count, expert groups, MoE layers). Optional: taken from the MoETrainingJob when the model comes from one; without it, EPLB reads the expert count from the reported loads and balances without groups. */
  "architecture"?: IInferenceDeploymentSpecModelArchitecture;
}

/** Inside one replica of G = podsPerReplica x gpusPerPod GPUs: experts are split over all G (expert = G), attention runs data-parallel x tensor-parallel (data x tensor = G). */
export interface IInferenceDeploymentSpecRolesPrefillParallelism {
  /** Tensor-parallel degree of attention; must divide gpusPerPod. Default: 1. */
  "tensor"?: number;
  /** Data-parallel degree of attention; G / tensor when absent. */
  "data"?: number;
  /** Expert-parallel degree; G when absent (the only allowed value). */
  "expert"?: number;
}

/** Speculative decoding (decode role only): the model's own MTP module drafts tokens and the main model verifies them in one forward per step. Greedy output is unchanged and sampling keeps its distribution (standard rejection rule). Needs a model trained with MTP (num_nextn_predict_layers >= 1). Sets MOE_SPECULATIVE_METHOD and MOE_SPECULATIVE_TOKENS. */
export interface IInferenceDeploymentSpecRolesPrefillSpeculative {
  /** mtp drafts with the model's first MTP module (DeepSeek-V3 report 5.4.3). */
  "method": "mtp";
  /** Tokens drafted per decode step (DeepSeek-V3 drafts 1). Default: 1. */
  "tokens"?: number;
}

/** Prompt processing; hands the compressed KV cache to decode. replicas 0 means decode prefills locally. */
export interface IInferenceDeploymentSpecRolesPrefill {
  /** Replicas (gangs) the deployment starts with. Afterwards the InferenceRole <deployment>-<role> holds the live count (kubectl scale, HPA); a change of this field is propagated to it once. Default: 1. */
  "replicas"?: number;
  /** Pods in one replica (gang); pod 0 is the replica's leader and serves its HTTP traffic. Default: 1. */
  "podsPerReplica"?: number;
  /** GPUs per pod. Default: 8. */
  "gpusPerPod"?: number;
  /** Inside one replica of G = podsPerReplica x gpusPerPod GPUs: experts are split over all G (expert = G), attention runs data-parallel x tensor-parallel (data x tensor = G). Default: {}. */
  "parallelism"?: IInferenceDeploymentSpecRolesPrefillParallelism;
  /** Extra physical expert slots for EPLB to replicate hot experts into; routed experts + redundantExperts must be a multiple of the expert-parallel size. Default: 0. */
  "redundantExperts"?: number;
  /** Sequences one replica runs together (MOE_MAX_BATCH). Default: 64. */
  "maxBatch"?: number;
  /** Waiting requests beyond which a replica answers 429 (MOE_MAX_QUEUE). Default: 256. */
  "maxQueue"?: number;
  /** Speculative decoding (decode role only): the model's own MTP module drafts tokens and the main model verifies them in one forward per step. Greedy output is unchanged and sampling keeps its distribution (standard rejection rule). Needs a model trained with MTP (num_nextn_predict_layers >= 1). Sets MOE_SPECULATIVE_METHOD and MOE_SPECULATIVE_TOKENS. */
  "speculative"?: IInferenceDeploymentSpecRolesPrefillSpeculative;
}

/** Inside one replica of G = podsPerReplica x gpusPerPod GPUs: experts are split over all G (expert = G), attention runs data-parallel x tensor-parallel (data x tensor = G). */
export interface IInferenceDeploymentSpecRolesDecodeParallelism {
  /** Tensor-parallel degree of attention; must divide gpusPerPod. Default: 1. */
  "tensor"?: number;
  /** Data-parallel degree of attention; G / tensor when absent. */
  "data"?: number;
  /** Expert-parallel degree; G when absent (the only allowed value). */
  "expert"?: number;
}

/** Speculative decoding (decode role only): the model's own MTP module drafts tokens and the main model verifies them in one forward per step. Greedy output is unchanged and sampling keeps its distribution (standard rejection rule). Needs a model trained with MTP (num_nextn_predict_layers >= 1). Sets MOE_SPECULATIVE_METHOD and MOE_SPECULATIVE_TOKENS. */
export interface IInferenceDeploymentSpecRolesDecodeSpeculative {
  /** mtp drafts with the model's first MTP module (DeepSeek-V3 report 5.4.3). */
  "method": "mtp";
  /** Tokens drafted per decode step (DeepSeek-V3 drafts 1). Default: 1. */
  "tokens"?: number;
}

/** Token generation with continuous batching; at least one replica. */
export interface IInferenceDeploymentSpecRolesDecode {
  /** Replicas (gangs) the deployment starts with. Afterwards the InferenceRole <deployment>-<role> holds the live count (kubectl scale, HPA); a change of this field is propagated to it once. Default: 1. */
  "replicas"?: number;
  /** Pods in one replica (gang); pod 0 is the replica's leader and serves its HTTP traffic. Default: 1. */
  "podsPerReplica"?: number;
  /** GPUs per pod. Default: 8. */
  "gpusPerPod"?: number;
  /** Inside one replica of G = podsPerReplica x gpusPerPod GPUs: experts are split over all G (expert = G), attention runs data-parallel x tensor-parallel (data x tensor = G). Default: {}. */
  "parallelism"?: IInferenceDeploymentSpecRolesDecodeParallelism;
  /** Extra physical expert slots for EPLB to replicate hot experts into; routed experts + redundantExperts must be a multiple of the expert-parallel size. Default: 0. */
  "redundantExperts"?: number;
  /** Sequences one replica runs together (MOE_MAX_BATCH). Default: 64. */
  "maxBatch"?: number;
  /** Waiting requests beyond which a replica answers 429 (MOE_MAX_QUEUE). Default: 256. */
  "maxQueue"?: number;
  /** Speculative decoding (decode role only): the model's own MTP module drafts tokens and the main model verifies them in one forward per step. Greedy output is unchanged and sampling keeps its distribution (standard rejection rule). Needs a model trained with MTP (num_nextn_predict_layers >= 1). Sets MOE_SPECULATIVE_METHOD and MOE_SPECULATIVE_TOKENS. */
  "speculative"?: IInferenceDeploymentSpecRolesDecodeSpeculative;
}

/** The prefill and decode roles. Pod-relevant changes roll out one gang at a time. */
export interface IInferenceDeploymentSpecRoles {
  /** Prompt processing; hands the compressed KV cache to decode. replicas 0 means decode prefills locally. Default: {}. */
  "prefill"?: IInferenceDeploymentSpecRolesPrefill;
  /** Token generation with continuous batching; at least one replica. Default: {}. */
  "decode"?: IInferenceDeploymentSpecRolesDecode;
}

/** The OpenAI-compatible front end (Service <deployment>). */
export interface IInferenceDeploymentSpecRouter {
  /** Router pods <deployment>-router-<i>. Default: 1. */
  "replicas"?: number;
  /** HTTP port of every serving pod (MOE_SERVE_PORT) and of the Service <deployment>. Default: 8000. */
  "port"?: number;
}

/** Expert-parallel load balancing from the per-replica expert loads (ConfigMap <deployment>-expert-load). */
export interface IInferenceDeploymentSpecEplb {
  /** Seconds between rebalancing rounds; 0 turns EPLB off. Default: 60. */
  "intervalSeconds"?: number;
  /** hierarchical packs expert groups onto a replica's pods first (needs groups divisible by pods); global ignores groups. Default: "hierarchical". */
  "policy"?: "hierarchical" | "global";
  /** Weight of the previous smoothed load in the exponential moving average (0 = only the latest interval). Default: 0.8. */
  "smoothing"?: number;
  /** A new placement is published only when it lowers the max/mean GPU load by this fraction (or none was published yet). Default: 0.05. */
  "minImprovement"?: number;
}

/** How a pod-relevant change (template, model, role shape) replaces gangs, like a Deployment's RollingUpdate. */
export interface IInferenceDeploymentSpecRollout {
  /** Extra gangs per role during a rollout (a count, or a percent of the role's replicas, rounded up). Default: 1. */
  "maxSurge"?: number | string;
  /** Gangs per role that may be unavailable during a rollout (a count, or a percent, rounded down). Default: 0. */
  "maxUnavailable"?: number | string;
}

/** The ClusterTopology the gangs are placed on. */
export interface IInferenceDeploymentSpecTopologyRef {
  /** Name of the ClusterTopology. Default: "default". */
  "name"?: string;
}

/** Delay before the second and later restarts in a row, doubling from initialSeconds up to maxSeconds. */
export interface IInferenceDeploymentSpecFailurePolicyBackoff {
  /** Delay before the second restart in a row. Default: 10. */
  "initialSeconds"?: number;
  /** Longest delay. Default: 300. */
  "maxSeconds"?: number;
}

/** How a replica whose gang failed is restarted. The first restart is immediate; each further failure in a row waits a doubling backoff; after maxRestarts failures in a row the replica is left down and the deployment is Degraded (RestartBudgetExhausted) until its spec changes. A replica ready for 10 minutes starts a new count. */
export interface IInferenceDeploymentSpecFailurePolicy {
  /** Restarts in a row allowed per replica. Default: 5. */
  "maxRestarts"?: number;
  /** Delay before the second and later restarts in a row, doubling from initialSeconds up to maxSeconds. Default: {}. */
  "backoff"?: IInferenceDeploymentSpecFailurePolicyBackoff;
}

/** What to serve and how to lay it out. */
export interface IInferenceDeploymentSpec {
  /** Where the weights come from. Exactly one of checkpoint or trainingJob. */
  "model": IInferenceDeploymentSpecModel;
  /** The model name /v1/models reports and requests must use; the deployment's name when empty. */
  "servedModelName"?: string;
  /** The prefill and decode roles. Pod-relevant changes roll out one gang at a time. Default: {}. */
  "roles"?: IInferenceDeploymentSpecRoles;
  /** The OpenAI-compatible front end (Service <deployment>). Default: {}. */
  "router"?: IInferenceDeploymentSpecRouter;
  /** Expert-parallel load balancing from the per-replica expert loads (ConfigMap <deployment>-expert-load). Default: {}. */
  "eplb"?: IInferenceDeploymentSpecEplb;
  /** How a pod-relevant change (template, model, role shape) replaces gangs, like a Deployment's RollingUpdate. Default: {}. */
  "rollout"?: IInferenceDeploymentSpecRollout;
  /** The ClusterTopology the gangs are placed on. Default: {}. */
  "topologyRef"?: IInferenceDeploymentSpecTopologyRef;
  /** Scheduler for the pods; the default scheduler when empty. */
  "schedulerName"?: string;
  /** How a replica whose gang failed is restarted. The first restart is immediate; each further failure in a row waits a doubling backoff; after maxRestarts failures in a row the replica is left down and the deployment is Degraded (RestartBudgetExhausted) until its spec changes. A replica ready for 10 minutes starts a new count. Default: {}. */
  "failurePolicy"?: IInferenceDeploymentSpecFailurePolicy;
  /** Pod template (v1 PodTemplateSpec) for every serving pod. The first container runs `moe-runtime serve` (args default to [serve]); the operator adds the serving environment, GPU/RDMA requests for role pods, node selectors, the scheduling gate and the headless-Service hostname. */
  "template"?: Record<string, unknown>;
}

export interface IInferenceDeploymentStatusConditionsItem {
  /** Condition type. */
  "type": string;
  /** True, False or Unknown. */
  "status": "True" | "False" | "Unknown";
  /** The generation the condition describes. */
  "observedGeneration"?: number;
  /** When status last flipped. */
  "lastTransitionTime": string;
  /** CamelCase reason. */
  "reason": string;
  /** What a person can act on. */
  "message": string;
}

/** The model being served. */
export interface IInferenceDeploymentStatusModel {
  /** file:// URI of the model folder (MOE_MODEL_PATH is its path). */
  "uri"?: string;
  /** checkpoint, or MoETrainingJob/<name>. */
  "resolvedFrom"?: string;
}

/** The expert placement published in ConfigMap <deployment>-placement. */
export interface IInferenceDeploymentStatusRolesPrefillPlacement {
  /** Increments with every published placement. */
  "version"?: number;
  /** max/mean load per GPU under the previous placement (smoothed load). */
  "balanceBefore"?: number;
  /** max/mean load per GPU under the published placement. */
  "balanceAfter"?: number;
  /** When it was published. */
  "updatedAt"?: string;
}

/** Speculative decoding of the role's live leader pods since each started (their reports in ConfigMap <deployment>-expert-load); absent when none drafts. */
export interface IInferenceDeploymentStatusRolesPrefillSpeculative {
  /** Tokens the MTP module drafted. */
  "draftedTokens"?: number;
  /** Drafted tokens the main model accepted. */
  "acceptedTokens"?: number;
  /** acceptedTokens / draftedTokens. */
  "acceptanceRate"?: number;
  /** Tokens emitted per verify step of a sequence (accepted drafts + 1). */
  "meanAcceptedLength"?: number;
}

/** State of one role. */
export interface IInferenceDeploymentStatusRolesPrefill {
  /** Desired replicas (the InferenceRole's spec.replicas). */
  "replicas"?: number;
  /** Replicas (gangs) that exist, ready or not. */
  "currentReplicas"?: number;
  /** Replicas whose pods are all running and ready. */
  "readyReplicas"?: number;
  /** Replicas at the current revision. */
  "updatedReplicas"?: number;
  /** readyReplicas/replicas, for printing. */
  "ready"?: string;
  /** Hash of the role's pod-relevant spec (pod label moe.io/revision). */
  "revision"?: string;
  /** Leader URLs of the ready replicas (also in ConfigMap <deployment>-routing). */
  "endpoints"?: Array<string>;
  /** The expert placement published in ConfigMap <deployment>-placement. */
  "placement"?: IInferenceDeploymentStatusRolesPrefillPlacement;
  /** Speculative decoding of the role's live leader pods since each started (their reports in ConfigMap <deployment>-expert-load); absent when none drafts. */
  "speculative"?: IInferenceDeploymentStatusRolesPrefillSpeculative;
}

/** The expert placement published in ConfigMap <deployment>-placement. */
export interface IInferenceDeploymentStatusRolesDecodePlacement {
  /** Increments with every published placement. */
  "version"?: number;
  /** max/mean load per GPU under the previous placement (smoothed load). */
  "balanceBefore"?: number;
  /** max/mean load per GPU under the published placement. */
  "balanceAfter"?: number;
  /** When it was published. */
  "updatedAt"?: string;
}

/** Speculative decoding of the role's live leader pods since each started (their reports in ConfigMap <deployment>-expert-load); absent when none drafts. */
export interface IInferenceDeploymentStatusRolesDecodeSpeculative {
  /** Tokens the MTP module drafted. */
  "draftedTokens"?: number;
  /** Drafted tokens the main model accepted. */
  "acceptedTokens"?: number;
  /** acceptedTokens / draftedTokens. */
  "acceptanceRate"?: number;
  /** Tokens emitted per verify step of a sequence (accepted drafts + 1). */
  "meanAcceptedLength"?: number;
}

/** State of one role. */
export interface IInferenceDeploymentStatusRolesDecode {
  /** Desired replicas (the InferenceRole's spec.replicas). */
  "replicas"?: number;
  /** Replicas (gangs) that exist, ready or not. */
  "currentReplicas"?: number;
  /** Replicas whose pods are all running and ready. */
  "readyReplicas"?: number;
  /** Replicas at the current revision. */
  "updatedReplicas"?: number;
  /** readyReplicas/replicas, for printing. */
  "ready"?: string;
  /** Hash of the role's pod-relevant spec (pod label moe.io/revision). */
  "revision"?: string;
  /** Leader URLs of the ready replicas (also in ConfigMap <deployment>-routing). */
  "endpoints"?: Array<string>;
  /** The expert placement published in ConfigMap <deployment>-placement. */
  "placement"?: IInferenceDeploymentStatusRolesDecodePlacement;
  /** Speculative decoding of the role's live leader pods since each started (their reports in ConfigMap <deployment>-expert-load); absent when none drafts. */
  "speculative"?: IInferenceDeploymentStatusRolesDecodeSpeculative;
}

/** Per-role state. */
export interface IInferenceDeploymentStatusRoles {
  /** State of one role. */
  "prefill"?: IInferenceDeploymentStatusRolesPrefill;
  /** State of one role. */
  "decode"?: IInferenceDeploymentStatusRolesDecode;
}

/** The router. */
export interface IInferenceDeploymentStatusRouter {
  /** Router pods desired. */
  "replicas"?: number;
  /** Router pods running and ready. */
  "readyReplicas"?: number;
  /** In-cluster URL of the Service <deployment>. */
  "url"?: string;
}

/** Observed state, written by the operator only. */
export interface IInferenceDeploymentStatus {
  /** Summary of the conditions. */
  "phase"?: "Pending" | "WaitingForModel" | "Progressing" | "Available" | "Degraded" | "Invalid";
  /** The generation the status describes. */
  "observedGeneration"?: number;
  /** Valid, ModelReady, Available, Progressing, Degraded, NameConflict, WriteFailed. */
  "conditions"?: Array<IInferenceDeploymentStatusConditionsItem>;
  /** The model being served. */
  "model"?: IInferenceDeploymentStatusModel;
  /** Per-role state. */
  "roles"?: IInferenceDeploymentStatusRoles;
  /** The router. */
  "router"?: IInferenceDeploymentStatusRouter;
}

/** InferenceDeployment serves a DeepSeek-V3-style MoE model with prefill/decode disaggregation. Each role replica is a gang of pods (one expert-parallel group) placed inside one NVLink/leaf domain where possible and started together; a router fronts the decode replicas; the operator rebalances experts (EPLB) from the load the replicas report, and rolls out changes one gang at a time. Per-role scale lives in the child InferenceRole objects <name>-prefill and <name>-decode (scale subresource: kubectl scale, HPA). */
export interface IInferenceDeployment extends TypeMeta {
  "apiVersion": "moe.io/v1alpha1";
  "kind": "InferenceDeployment";
  "metadata"?: IObjectMeta;
  /** What to serve and how to lay it out. */
  "spec": IInferenceDeploymentSpec;
  /** Observed state, written by the operator only. */
  "status"?: IInferenceDeploymentStatus;
}

export class InferenceDeployment extends Model<IInferenceDeployment> implements IInferenceDeployment {
  declare "apiVersion": IInferenceDeployment["apiVersion"];
  declare "kind": IInferenceDeployment["kind"];
  declare "metadata"?: IObjectMeta;
  declare "spec": IInferenceDeployment["spec"];
  declare "status"?: IInferenceDeployment["status"];
  static readonly apiVersion = "moe.io/v1alpha1";
  static readonly kind = "InferenceDeployment";
  static readonly is = createTypeMetaGuard<IInferenceDeployment>({ apiVersion: "moe.io/v1alpha1", kind: "InferenceDeployment" });
  constructor(data?: ModelData<IInferenceDeployment>) {
    super({ apiVersion: "moe.io/v1alpha1", kind: "InferenceDeployment", ...data } as ModelData<IInferenceDeployment>);
  }
}

/** The openAPIV3Schema of InferenceDeployment v1alpha1, for defaulting and tests. */
export const InferenceDeploymentSchema: JSONSchema = {
  "type": "object",
  "description": "InferenceDeployment serves a DeepSeek-V3-style MoE model with prefill/decode disaggregation. Each role replica is a gang of pods (one expert-parallel group) placed inside one NVLink/leaf domain where possible and started together; a router fronts the decode replicas; the operator rebalances experts (EPLB) from the load the replicas report, and rolls out changes one gang at a time. Per-role scale lives in the child InferenceRole objects <name>-prefill and <name>-decode (scale subresource: kubectl scale, HPA).",
  "required": [
    "spec"
  ],
  "x-kubernetes-validations": [
    {
      "rule": "self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",
      "message": "metadata.name must be a DNS label (lowercase letters, digits and '-', starting with a letter, no dots): the Services are <name> and <name>-pods, pod hostnames <name>-<role>-<replica>-<index>"
    },
    {
      "rule": "size(self.metadata.name) <= 40",
      "message": "metadata.name must be at most 40 characters (pod hostnames are <name>-<role>-<replica>-<index>, at most 63)"
    }
  ],
  "properties": {
    "apiVersion": {
      "type": "string",
      "description": "APIVersion defines the versioned schema of this representation of an object."
    },
    "kind": {
      "type": "string",
      "description": "Kind is a string value representing the REST resource this object represents."
    },
    "metadata": {
      "type": "object"
    },
    "spec": {
      "type": "object",
      "description": "What to serve and how to lay it out.",
      "required": [
        "model"
      ],
      "properties": {
        "model": {
          "type": "object",
          "description": "Where the weights come from. Exactly one of checkpoint or trainingJob.",
          "x-kubernetes-validations": [
            {
              "rule": "has(self.checkpoint) != has(self.trainingJob)",
              "message": "set exactly one of model.checkpoint or model.trainingJob"
            }
          ],
          "properties": {
            "checkpoint": {
              "type": "object",
              "description": "A model folder (DeepSeek-layout export, or a run folder with checkpoints).",
              "required": [
                "uri"
              ],
              "properties": {
                "uri": {
                  "type": "string",
                  "minLength": 1,
                  "description": "file:// URI of the model folder as the pods see it (mount it through the template).",
                  "x-kubernetes-validations": [
                    {
                      "rule": "self.startsWith('file:///')",
                      "message": "model.checkpoint.uri must be an absolute file:// URI such as file:///models/tiny"
                    }
                  ]
                }
              }
            },
            "trainingJob": {
              "type": "object",
              "description": "A MoETrainingJob in the same namespace. Its inference export (<spec.checkpoint.uri>/<namespace>/<job>/export, written by rank 0 at the end of training) is served once the job has Succeeded; until then the deployment waits (ModelReady=False).",
              "required": [
                "name"
              ],
              "properties": {
                "name": {
                  "type": "string",
                  "minLength": 1,
                  "description": "Name of the MoETrainingJob."
                }
              }
            },
            "architecture": {
              "type": "object",
              "description": "The model's architecture, for validation and EPLB (expert count, expert groups, MoE layers). Optional: taken from the MoETrainingJob when the model comes from one; without it, EPLB reads the expert count from the reported loads and balances without groups.",
              "x-kubernetes-validations": [
                {
                  "rule": "has(self.preset) != has(self.config)",
                  "message": "set exactly one of model.architecture.preset or model.architecture.config"
                }
              ],
              "properties": {
                "preset": {
                  "type": "string",
                  "enum": [
                    "deepseek-v3-671b",
                    "deepseek-v3-tiny"
                  ],
                  "description": "A named architecture (as in MoETrainingJob spec.model.preset)."
                },
                "config": {
                  "type": "object",
                  "x-kubernetes-preserve-unknown-fields": true,
                  "description": "Explicit architecture; the fields of MoETrainingJob spec.model.config (DeepSeek-V3 config.json names)."
                }
              }
            }
          }
        },
        "servedModelName": {
          "type": "string",
          "maxLength": 253,
          "description": "The model name /v1/models reports and requests must use; the deployment's name when empty."
        },
        "roles": {
          "type": "object",
          "description": "The prefill and decode roles. Pod-relevant changes roll out one gang at a time.",
          "default": {},
          "x-kubernetes-validations": [
            {
              "rule": "!has(self.prefill) || !has(self.prefill.speculative)",
              "message": "speculative applies to the decode role only (prefill pods do not decode; they hand the MTP drafter's state to a drafting decode pod); move it to roles.decode.speculative"
            }
          ],
          "properties": {
            "prefill": {
              "type": "object",
              "description": "Prompt processing; hands the compressed KV cache to decode. replicas 0 means decode prefills locally.",
              "default": {},
              "x-kubernetes-validations": [
                {
                  "rule": "!has(self.parallelism) || !has(self.parallelism.expert) || self.parallelism.expert == self.podsPerReplica * self.gpusPerPod",
                  "message": "parallelism.expert must equal podsPerReplica x gpusPerPod (experts are spread over every GPU of a replica)"
                },
                {
                  "rule": "!has(self.parallelism) || (self.podsPerReplica * self.gpusPerPod) % self.parallelism.tensor == 0",
                  "message": "parallelism.tensor must divide podsPerReplica x gpusPerPod"
                },
                {
                  "rule": "!has(self.parallelism) || self.gpusPerPod % self.parallelism.tensor == 0",
                  "message": "parallelism.tensor must divide gpusPerPod so a tensor-parallel group stays inside one pod (NVLink)"
                },
                {
                  "rule": "!has(self.parallelism) || !has(self.parallelism.data) || self.parallelism.data * self.parallelism.tensor == self.podsPerReplica * self.gpusPerPod",
                  "message": "parallelism.data x parallelism.tensor must equal podsPerReplica x gpusPerPod (attention is data-parallel over the replica's GPUs)"
                }
              ],
              "properties": {
                "replicas": {
                  "type": "integer",
                  "minimum": 0,
                  "maximum": 1024,
                  "default": 1,
                  "description": "Replicas (gangs) the deployment starts with. Afterwards the InferenceRole <deployment>-<role> holds the live count (kubectl scale, HPA); a change of this field is propagated to it once."
                },
                "podsPerReplica": {
                  "type": "integer",
                  "minimum": 1,
                  "maximum": 256,
                  "default": 1,
                  "description": "Pods in one replica (gang); pod 0 is the replica's leader and serves its HTTP traffic."
                },
                "gpusPerPod": {
                  "type": "integer",
                  "minimum": 1,
                  "maximum": 64,
                  "default": 8,
                  "description": "GPUs per pod."
                },
                "parallelism": {
                  "type": "object",
                  "description": "Inside one replica of G = podsPerReplica x gpusPerPod GPUs: experts are split over all G (expert = G), attention runs data-parallel x tensor-parallel (data x tensor = G).",
                  "default": {},
                  "properties": {
                    "tensor": {
                      "type": "integer",
                      "minimum": 1,
                      "maximum": 64,
                      "default": 1,
                      "description": "Tensor-parallel degree of attention; must divide gpusPerPod."
                    },
                    "data": {
                      "type": "integer",
                      "minimum": 1,
                      "maximum": 16384,
                      "description": "Data-parallel degree of attention; G / tensor when absent."
                    },
                    "expert": {
                      "type": "integer",
                      "minimum": 1,
                      "maximum": 16384,
                      "description": "Expert-parallel degree; G when absent (the only allowed value)."
                    }
                  }
                },
                "redundantExperts": {
                  "type": "integer",
                  "minimum": 0,
                  "maximum": 4096,
                  "default": 0,
                  "description": "Extra physical expert slots for EPLB to replicate hot experts into; routed experts + redundantExperts must be a multiple of the expert-parallel size."
                },
                "maxBatch": {
                  "type": "integer",
                  "minimum": 1,
                  "maximum": 65536,
                  "default": 64,
                  "description": "Sequences one replica runs together (MOE_MAX_BATCH)."
                },
                "maxQueue": {
                  "type": "integer",
                  "minimum": 0,
                  "maximum": 1048576,
                  "default": 256,
                  "description": "Waiting requests beyond which a replica answers 429 (MOE_MAX_QUEUE)."
                },
                "speculative": {
                  "type": "object",
                  "description": "Speculative decoding (decode role only): the model's own MTP module drafts tokens and the main model verifies them in one forward per step. Greedy output is unchanged and sampling keeps its distribution (standard rejection rule). Needs a model trained with MTP (num_nextn_predict_layers >= 1). Sets MOE_SPECULATIVE_METHOD and MOE_SPECULATIVE_TOKENS.",
                  "required": [
                    "method"
                  ],
                  "properties": {
                    "method": {
                      "type": "string",
                      "enum": [
                        "mtp"
                      ],
                      "description": "mtp drafts with the model's first MTP module (DeepSeek-V3 report 5.4.3)."
                    },
                    "tokens": {
                      "type": "integer",
                      "minimum": 1,
                      "maximum": 8,
                      "default": 1,
                      "description": "Tokens drafted per decode step (DeepSeek-V3 drafts 1)."
                    }
                  }
                }
              }
            },
            "decode": {
              "type": "object",
              "description": "Token generation with continuous batching; at least one replica.",
              "default": {},
              "x-kubernetes-validations": [
                {
                  "rule": "!has(self.parallelism) || !has(self.parallelism.expert) || self.parallelism.expert == self.podsPerReplica * self.gpusPerPod",
                  "message": "parallelism.expert must equal podsPerReplica x gpusPerPod (experts are spread over every GPU of a replica)"
                },
                {
                  "rule": "!has(self.parallelism) || (self.podsPerReplica * self.gpusPerPod) % self.parallelism.tensor == 0",
                  "message": "parallelism.tensor must divide podsPerReplica x gpusPerPod"
                },
                {
                  "rule": "!has(self.parallelism) || self.gpusPerPod % self.parallelism.tensor == 0",
                  "message": "parallelism.tensor must divide gpusPerPod so a tensor-parallel group stays inside one pod (NVLink)"
                },
                {
                  "rule": "!has(self.parallelism) || !has(self.parallelism.data) || self.parallelism.data * self.parallelism.tensor == self.podsPerReplica * self.gpusPerPod",
                  "message": "parallelism.data x parallelism.tensor must equal podsPerReplica x gpusPerPod (attention is data-parallel over the replica's GPUs)"
                }
              ],
              "properties": {
                "replicas": {
                  "type": "integer",
                  "minimum": 0,
                  "maximum": 1024,
                  "default": 1,
                  "description": "Replicas (gangs) the deployment starts with. Afterwards the InferenceRole <deployment>-<role> holds the live count (kubectl scale, HPA); a change of this field is propagated to it once."
                },
                "podsPerReplica": {
                  "type": "integer",
                  "minimum": 1,
                  "maximum": 256,
                  "default": 1,
                  "description": "Pods in one replica (gang); pod 0 is the replica's leader and serves its HTTP traffic."
                },
                "gpusPerPod": {
                  "type": "integer",
                  "minimum": 1,
                  "maximum": 64,
                  "default": 8,
                  "description": "GPUs per pod."
                },
                "parallelism": {
                  "type": "object",
                  "description": "Inside one replica of G = podsPerReplica x gpusPerPod GPUs: experts are split over all G (expert = G), attention runs data-parallel x tensor-parallel (data x tensor = G).",
                  "default": {},
                  "properties": {
                    "tensor": {
                      "type": "integer",
                      "minimum": 1,
                      "maximum": 64,
                      "default": 1,
                      "description": "Tensor-parallel degree of attention; must divide gpusPerPod."
                    },
                    "data": {
                      "type": "integer",
                      "minimum": 1,
                      "maximum": 16384,
                      "description": "Data-parallel degree of attention; G / tensor when absent."
                    },
                    "expert": {
                      "type": "integer",
                      "minimum": 1,
                      "maximum": 16384,
                      "description": "Expert-parallel degree; G when absent (the only allowed value)."
                    }
                  }
                },
                "redundantExperts": {
                  "type": "integer",
                  "minimum": 0,
                  "maximum": 4096,
                  "default": 0,
                  "description": "Extra physical expert slots for EPLB to replicate hot experts into; routed experts + redundantExperts must be a multiple of the expert-parallel size."
                },
                "maxBatch": {
                  "type": "integer",
                  "minimum": 1,
                  "maximum": 65536,
                  "default": 64,
                  "description": "Sequences one replica runs together (MOE_MAX_BATCH)."
                },
                "maxQueue": {
                  "type": "integer",
                  "minimum": 0,
                  "maximum": 1048576,
                  "default": 256,
                  "description": "Waiting requests beyond which a replica answers 429 (MOE_MAX_QUEUE)."
                },
                "speculative": {
                  "type": "object",
                  "description": "Speculative decoding (decode role only): the model's own MTP module drafts tokens and the main model verifies them in one forward per step. Greedy output is unchanged and sampling keeps its distribution (standard rejection rule). Needs a model trained with MTP (num_nextn_predict_layers >= 1). Sets MOE_SPECULATIVE_METHOD and MOE_SPECULATIVE_TOKENS.",
                  "required": [
                    "method"
                  ],
                  "properties": {
                    "method": {
                      "type": "string",
                      "enum": [
                        "mtp"
                      ],
                      "description": "mtp drafts with the model's first MTP module (DeepSeek-V3 report 5.4.3)."
                    },
                    "tokens": {
                      "type": "integer",
                      "minimum": 1,
                      "maximum": 8,
                      "default": 1,
                      "description": "Tokens drafted per decode step (DeepSeek-V3 drafts 1)."
                    }
                  }
                }
              }
            }
          }
        },
        "router": {
          "type": "object",
          "description": "The OpenAI-compatible front end (Service <deployment>).",
          "default": {},
          "properties": {
            "replicas": {
              "type": "integer",
              "minimum": 1,
              "maximum": 64,
              "default": 1,
              "description": "Router pods <deployment>-router-<i>."
            },
            "port": {
              "type": "integer",
              "minimum": 1,
              "maximum": 65535,
              "default": 8000,
              "description": "HTTP port of every serving pod (MOE_SERVE_PORT) and of the Service <deployment>."
            }
          }
        },
        "eplb": {
          "type": "object",
          "description": "Expert-parallel load balancing from the per-replica expert loads (ConfigMap <deployment>-expert-load).",
          "default": {},
          "properties": {
            "intervalSeconds": {
              "type": "integer",
              "minimum": 0,
              "maximum": 86400,
              "default": 60,
              "description": "Seconds between rebalancing rounds; 0 turns EPLB off."
            },
            "policy": {
              "type": "string",
              "enum": [
                "hierarchical",
                "global"
              ],
              "default": "hierarchical",
              "description": "hierarchical packs expert groups onto a replica's pods first (needs groups divisible by pods); global ignores groups."
            },
            "smoothing": {
              "type": "number",
              "minimum": 0,
              "maximum": 0.99,
              "default": 0.8,
              "description": "Weight of the previous smoothed load in the exponential moving average (0 = only the latest interval)."
            },
            "minImprovement": {
              "type": "number",
              "minimum": 0,
              "maximum": 1,
              "default": 0.05,
              "description": "A new placement is published only when it lowers the max/mean GPU load by this fraction (or none was published yet)."
            }
          }
        },
        "rollout": {
          "type": "object",
          "description": "How a pod-relevant change (template, model, role shape) replaces gangs, like a Deployment's RollingUpdate.",
          "default": {},
          "x-kubernetes-validations": [
            {
              "rule": "!has(self.maxSurge) || !has(self.maxUnavailable) || !((self.maxSurge == 0 || self.maxSurge == '0%') && (self.maxUnavailable == 0 || self.maxUnavailable == '0%'))",
              "message": "rollout.maxSurge and rollout.maxUnavailable must not both be 0"
            }
          ],
          "properties": {
            "maxSurge": {
              "x-kubernetes-int-or-string": true,
              "anyOf": [
                {
                  "type": "integer"
                },
                {
                  "type": "string"
                }
              ],
              "default": 1,
              "description": "Extra gangs per role during a rollout (a count, or a percent of the role's replicas, rounded up).",
              "x-kubernetes-validations": [
                {
                  "rule": "type(self) == int ? self >= 0 : self.matches('^[0-9]+%$')",
                  "message": "rollout.maxSurge must be a non-negative integer or a percentage such as 25%"
                }
              ]
            },
            "maxUnavailable": {
              "x-kubernetes-int-or-string": true,
              "anyOf": [
                {
                  "type": "integer"
                },
                {
                  "type": "string"
                }
              ],
              "default": 0,
              "description": "Gangs per role that may be unavailable during a rollout (a count, or a percent, rounded down).",
              "x-kubernetes-validations": [
                {
                  "rule": "type(self) == int ? self >= 0 : self.matches('^[0-9]+%$')",
                  "message": "rollout.maxUnavailable must be a non-negative integer or a percentage such as 25%"
                }
              ]
            }
          }
        },
        "topologyRef": {
          "type": "object",
          "description": "The ClusterTopology the gangs are placed on.",
          "default": {},
          "properties": {
            "name": {
              "type": "string",
              "default": "default",
              "description": "Name of the ClusterTopology."
            }
          }
        },
        "schedulerName": {
          "type": "string",
          "description": "Scheduler for the pods; the default scheduler when empty."
        },
        "failurePolicy": {
          "type": "object",
          "description": "How a replica whose gang failed is restarted. The first restart is immediate; each further failure in a row waits a doubling backoff; after maxRestarts failures in a row the replica is left down and the deployment is Degraded (RestartBudgetExhausted) until its spec changes. A replica ready for 10 minutes starts a new count.",
          "default": {},
          "properties": {
            "maxRestarts": {
              "type": "integer",
              "minimum": 0,
              "maximum": 1000,
              "default": 5,
              "description": "Restarts in a row allowed per replica."
            },
            "backoff": {
              "type": "object",
              "description": "Delay before the second and later restarts in a row, doubling from initialSeconds up to maxSeconds.",
              "default": {},
              "properties": {
                "initialSeconds": {
                  "type": "integer",
                  "minimum": 0,
                  "maximum": 86400,
                  "default": 10,
                  "description": "Delay before the second restart in a row."
                },
                "maxSeconds": {
                  "type": "integer",
                  "minimum": 0,
                  "maximum": 86400,
                  "default": 300,
                  "description": "Longest delay."
                }
              }
            }
          }
        },
        "template": {
          "type": "object",
          "x-kubernetes-preserve-unknown-fields": true,
          "description": "Pod template (v1 PodTemplateSpec) for every serving pod. The first container runs `moe-runtime serve` (args default to [serve]); the operator adds the serving environment, GPU/RDMA requests for role pods, node selectors, the scheduling gate and the headless-Service hostname."
        }
      }
    },
    "status": {
      "type": "object",
      "description": "Observed state, written by the operator only.",
      "properties": {
        "phase": {
          "type": "string",
          "enum": [
            "Pending",
            "WaitingForModel",
            "Progressing",
            "Available",
            "Degraded",
            "Invalid"
          ],
          "description": "Summary of the conditions."
        },
        "observedGeneration": {
          "type": "integer",
          "description": "The generation the status describes."
        },
        "conditions": {
          "type": "array",
          "x-kubernetes-list-type": "map",
          "x-kubernetes-list-map-keys": [
            "type"
          ],
          "description": "Valid, ModelReady, Available, Progressing, Degraded, NameConflict, WriteFailed.",
          "items": {
            "type": "object",
            "required": [
              "type",
              "status",
              "lastTransitionTime",
              "reason",
              "message"
            ],
            "properties": {
              "type": {
                "type": "string",
                "maxLength": 316,
                "description": "Condition type."
              },
              "status": {
                "type": "string",
                "enum": [
                  "True",
                  "False",
                  "Unknown"
                ],
                "description": "True, False or Unknown."
              },
              "observedGeneration": {
                "type": "integer",
                "minimum": 0,
                "description": "The generation the condition describes."
              },
              "lastTransitionTime": {
                "type": "string",
                "format": "date-time",
                "description": "When status last flipped."
              },
              "reason": {
                "type": "string",
                "maxLength": 1024,
                "description": "CamelCase reason."
              },
              "message": {
                "type": "string",
                "maxLength": 32768,
                "description": "What a person can act on."
              }
            }
          }
        },
        "model": {
          "type": "object",
          "description": "The model being served.",
          "properties": {
            "uri": {
              "type": "string",
              "description": "file:// URI of the model folder (MOE_MODEL_PATH is its path)."
            },
            "resolvedFrom": {
              "type": "string",
              "description": "checkpoint, or MoETrainingJob/<name>."
            }
          }
        },
        "roles": {
          "type": "object",
          "description": "Per-role state.",
          "properties": {
            "prefill": {
              "type": "object",
              "description": "State of one role.",
              "properties": {
                "replicas": {
                  "type": "integer",
                  "description": "Desired replicas (the InferenceRole's spec.replicas)."
                },
                "currentReplicas": {
                  "type": "integer",
                  "description": "Replicas (gangs) that exist, ready or not."
                },
                "readyReplicas": {
                  "type": "integer",
                  "description": "Replicas whose pods are all running and ready."
                },
                "updatedReplicas": {
                  "type": "integer",
                  "description": "Replicas at the current revision."
                },
                "ready": {
                  "type": "string",
                  "description": "readyReplicas/replicas, for printing."
                },
                "revision": {
                  "type": "string",
                  "description": "Hash of the role's pod-relevant spec (pod label moe.io/revision)."
                },
                "endpoints": {
                  "type": "array",
                  "description": "Leader URLs of the ready replicas (also in ConfigMap <deployment>-routing).",
                  "items": {
                    "type": "string"
                  }
                },
                "placement": {
                  "type": "object",
                  "description": "The expert placement published in ConfigMap <deployment>-placement.",
                  "properties": {
                    "version": {
                      "type": "integer",
                      "description": "Increments with every published placement."
                    },
                    "balanceBefore": {
                      "type": "number",
                      "description": "max/mean load per GPU under the previous placement (smoothed load)."
                    },
                    "balanceAfter": {
                      "type": "number",
                      "description": "max/mean load per GPU under the published placement."
                    },
                    "updatedAt": {
                      "type": "string",
                      "format": "date-time",
                      "description": "When it was published."
                    }
                  }
                },
                "speculative": {
                  "type": "object",
                  "description": "Speculative decoding of the role's live leader pods since each started (their reports in ConfigMap <deployment>-expert-load); absent when none drafts.",
                  "properties": {
                    "draftedTokens": {
                      "type": "integer",
                      "description": "Tokens the MTP module drafted."
                    },
                    "acceptedTokens": {
                      "type": "integer",
                      "description": "Drafted tokens the main model accepted."
                    },
                    "acceptanceRate": {
                      "type": "number",
                      "description": "acceptedTokens / draftedTokens."
                    },
                    "meanAcceptedLength": {
                      "type": "number",
                      "description": "Tokens emitted per verify step of a sequence (accepted drafts + 1)."
                    }
                  }
                }
              }
            },
            "decode": {
              "type": "object",
              "description": "State of one role.",
              "properties": {
                "replicas": {
                  "type": "integer",
                  "description": "Desired replicas (the InferenceRole's spec.replicas)."
                },
                "currentReplicas": {
                  "type": "integer",
                  "description": "Replicas (gangs) that exist, ready or not."
                },
                "readyReplicas": {
                  "type": "integer",
                  "description": "Replicas whose pods are all running and ready."
                },
                "updatedReplicas": {
                  "type": "integer",
                  "description": "Replicas at the current revision."
                },
                "ready": {
                  "type": "string",
                  "description": "readyReplicas/replicas, for printing."
                },
                "revision": {
                  "type": "string",
                  "description": "Hash of the role's pod-relevant spec (pod label moe.io/revision)."
                },
                "endpoints": {
                  "type": "array",
                  "description": "Leader URLs of the ready replicas (also in ConfigMap <deployment>-routing).",
                  "items": {
                    "type": "string"
                  }
                },
                "placement": {
                  "type": "object",
                  "description": "The expert placement published in ConfigMap <deployment>-placement.",
                  "properties": {
                    "version": {
                      "type": "integer",
                      "description": "Increments with every published placement."
                    },
                    "balanceBefore": {
                      "type": "number",
                      "description": "max/mean load per GPU under the previous placement (smoothed load)."
                    },
                    "balanceAfter": {
                      "type": "number",
                      "description": "max/mean load per GPU under the published placement."
                    },
                    "updatedAt": {
                      "type": "string",
                      "format": "date-time",
                      "description": "When it was published."
                    }
                  }
                },
                "speculative": {
                  "type": "object",
                  "description": "Speculative decoding of the role's live leader pods since each started (their reports in ConfigMap <deployment>-expert-load); absent when none drafts.",
                  "properties": {
                    "draftedTokens": {
                      "type": "integer",
                      "description": "Tokens the MTP module drafted."
                    },
                    "acceptedTokens": {
                      "type": "integer",
                      "description": "Drafted tokens the main model accepted."
                    },
                    "acceptanceRate": {
                      "type": "number",
                      "description": "acceptedTokens / draftedTokens."
                    },
                    "meanAcceptedLength": {
                      "type": "number",
                      "description": "Tokens emitted per verify step of a sequence (accepted drafts + 1)."
                    }
                  }
                }
              }
            }
          }
        },
        "router": {
          "type": "object",
          "description": "The router.",
          "properties": {
            "replicas": {
              "type": "integer",
              "description": "Router pods desired."
            },
            "readyReplicas": {
              "type": "integer",
              "description": "Router pods running and ready."
            },
            "url": {
              "type": "string",
              "description": "In-cluster URL of the Service <deployment>."
            }
          }
        }
      }
    }
  }
};

// ---- moe.io_inferenceroles.yaml (v1alpha1) ----

/** The desired replica count. */
export interface IInferenceRoleSpec {
  /** Replicas (gangs of podsPerReplica pods) of the role. */
  "replicas": number;
}

/** Observed state, written by the operator only. */
export interface IInferenceRoleStatus {
  /** Replicas (gangs) that exist. */
  "replicas"?: number;
  /** Replicas whose pods are all running and ready. */
  "readyReplicas"?: number;
  /** Replicas at the deployment's current revision. */
  "updatedReplicas"?: number;
  /** Label selector of the role's pods (for the scale subresource and HPA). */
  "selector"?: string;
  /** The generation the status describes. */
  "observedGeneration"?: number;
}

/** InferenceRole is the scale handle of one role (prefill or decode) of an InferenceDeployment, created by the operator as <deployment>-<role> and owned by the deployment. Its spec.replicas is the live replica (gang) count: kubectl scale and the HorizontalPodAutoscaler write it through the scale subresource. A change of the deployment's spec.roles.<role>.replicas is copied here once (annotation moe.io/propagated-replicas records the last copied value), so GitOps edits win and autoscaler edits are not reverted. */
export interface IInferenceRole extends TypeMeta {
  "apiVersion": "moe.io/v1alpha1";
  "kind": "InferenceRole";
  "metadata"?: IObjectMeta;
  /** The desired replica count. */
  "spec": IInferenceRoleSpec;
  /** Observed state, written by the operator only. */
  "status"?: IInferenceRoleStatus;
}

export class InferenceRole extends Model<IInferenceRole> implements IInferenceRole {
  declare "apiVersion": IInferenceRole["apiVersion"];
  declare "kind": IInferenceRole["kind"];
  declare "metadata"?: IObjectMeta;
  declare "spec": IInferenceRole["spec"];
  declare "status"?: IInferenceRole["status"];
  static readonly apiVersion = "moe.io/v1alpha1";
  static readonly kind = "InferenceRole";
  static readonly is = createTypeMetaGuard<IInferenceRole>({ apiVersion: "moe.io/v1alpha1", kind: "InferenceRole" });
  constructor(data?: ModelData<IInferenceRole>) {
    super({ apiVersion: "moe.io/v1alpha1", kind: "InferenceRole", ...data } as ModelData<IInferenceRole>);
  }
}

/** The openAPIV3Schema of InferenceRole v1alpha1, for defaulting and tests. */
export const InferenceRoleSchema: JSONSchema = {
  "type": "object",
  "description": "InferenceRole is the scale handle of one role (prefill or decode) of an InferenceDeployment, created by the operator as <deployment>-<role> and owned by the deployment. Its spec.replicas is the live replica (gang) count: kubectl scale and the HorizontalPodAutoscaler write it through the scale subresource. A change of the deployment's spec.roles.<role>.replicas is copied here once (annotation moe.io/propagated-replicas records the last copied value), so GitOps edits win and autoscaler edits are not reverted.",
  "required": [
    "spec"
  ],
  "properties": {
    "apiVersion": {
      "type": "string",
      "description": "APIVersion defines the versioned schema of this representation of an object."
    },
    "kind": {
      "type": "string",
      "description": "Kind is a string value representing the REST resource this object represents."
    },
    "metadata": {
      "type": "object"
    },
    "spec": {
      "type": "object",
      "description": "The desired replica count.",
      "required": [
        "replicas"
      ],
      "properties": {
        "replicas": {
          "type": "integer",
          "minimum": 0,
          "maximum": 1024,
          "description": "Replicas (gangs of podsPerReplica pods) of the role."
        }
      }
    },
    "status": {
      "type": "object",
      "description": "Observed state, written by the operator only.",
      "properties": {
        "replicas": {
          "type": "integer",
          "description": "Replicas (gangs) that exist."
        },
        "readyReplicas": {
          "type": "integer",
          "description": "Replicas whose pods are all running and ready."
        },
        "updatedReplicas": {
          "type": "integer",
          "description": "Replicas at the deployment's current revision."
        },
        "selector": {
          "type": "string",
          "description": "Label selector of the role's pods (for the scale subresource and HPA)."
        },
        "observedGeneration": {
          "type": "integer",
          "description": "The generation the status describes."
        }
      }
    }
  }
};

// ---- moe.io_moeevaluations.yaml (v1alpha1) ----

/** A MoETrainingJob in this namespace: each Nth new checkpoint it reports (status.checkpoints.latest) is evaluated, then its final export once it has Succeeded. The pod loads each from its URI (mount the job's checkpoint storage through the template). */
export interface IMoEEvaluationSpecTargetTrainingJob {
  /** Name of the MoETrainingJob. */
  "name": string;
  /** Evaluate every Nth checkpoint the operator sees (1 = each one); the final export always. Default: 1. */
  "everyNthCheckpoint"?: number;
}

/** What is evaluated. Exactly one of inferenceDeployment, checkpoint or trainingJob. */
export interface IMoEEvaluationSpecTarget {
  /** Name of an InferenceDeployment in this namespace: evaluated through its router Service's OpenAI API (http://<name>.<namespace>.svc:<router.port>/v1), once the deployment is Available. */
  "inferenceDeployment"?: string;
  /** file:// URI of a model folder (export or run folder) as the evaluation pod sees it; mount it through the template, as for InferenceDeployment model.checkpoint. The pod loads the model itself. */
  "checkpoint"?: string;
  /** A MoETrainingJob in this namespace: each Nth new checkpoint it reports (status.checkpoints.latest) is evaluated, then its final export once it has Succeeded. The pod loads each from its URI (mount the job's checkpoint storage through the template). */
  "trainingJob"?: IMoEEvaluationSpecTargetTrainingJob;
}

/** A key of a ConfigMap in this namespace, mounted into the evaluation pod. */
export interface IMoEEvaluationSpecTasksItemSourceConfigMap {
  /** The ConfigMap. */
  "name": string;
  /** The key holding the JSONL text. */
  "key": string;
}

/** Where the JSONL file is. Exactly one of configMap or path. */
export interface IMoEEvaluationSpecTasksItemSource {
  /** A key of a ConfigMap in this namespace, mounted into the evaluation pod. */
  "configMap"?: IMoEEvaluationSpecTasksItemSourceConfigMap;
  /** Absolute path of the JSONL file in the pod, inside a volume the template mounts. */
  "path"?: string;
}

export interface IMoEEvaluationSpecTasksItem {
  /** Unique name (letters, digits, '-', '_', '.'); the task label of the metrics. */
  "name": string;
  /** multiple_choice (accuracy by log-likelihood, MMLU-style), generate (exact match after answer extraction, GSM8K-style) or code (pass@k with unit tests in the sandbox). */
  "type": "multiple_choice" | "generate" | "code";
  /** Where the JSONL file is. Exactly one of configMap or path. */
  "source": IMoEEvaluationSpecTasksItemSource;
  /** Use the first `limit` samples only. */
  "limit"?: number;
  /** generate and code; tokens per answer. */
  "maxTokens"?: number;
  /** generate; a regular expression whose first group is the answer (default \boxed{...}, else the last number). */
  "answerPattern"?: string;
  /** code; candidates per problem (the n of pass@k). Default 1. */
  "samples"?: number;
  /** code; the k values reported (pass@k each). Default [1]. */
  "k"?: Array<number>;
  /** code; time limit of one candidate run in the sandbox. */
  "timeoutSeconds"?: number;
  /** code; memory limit of one candidate run in the sandbox. */
  "memoryMiB"?: number;
}

/** What to evaluate, on which tasks. */
export interface IMoEEvaluationSpec {
  /** What is evaluated. Exactly one of inferenceDeployment, checkpoint or trainingJob. */
  "target": IMoEEvaluationSpecTarget;
  /** Benchmark-format tasks, each a JSONL file (formats in runtime/src/eval/README.md). */
  "tasks": Array<IMoEEvaluationSpecTasksItem>;
  /** Per request to the model. Default: 120. */
  "requestTimeoutSeconds"?: number;
  /** How often a failed request is retried before the model counts as unreachable (pod exit code 3). Default: 3. */
  "retries"?: number;
  /** true deletes a running evaluation pod and starts none; false goes on (the interrupted run starts again). Default: false. */
  "suspend"?: boolean;
  /** Pod template (v1 PodTemplateSpec) of the evaluation pod: image, resources (GPUs to load a model), volumes and volumeMounts for task files and model folders. The first container runs `moe-runtime eval` (args default to [eval]); the operator adds the plan, the task ConfigMaps and the contract env. */
  "template"?: Record<string, unknown>;
}

export interface IMoEEvaluationStatusConditionsItem {
  /** Condition type. */
  "type": string;
  /** True, False or Unknown. */
  "status": "True" | "False" | "Unknown";
  /** The generation the condition describes. */
  "observedGeneration"?: number;
  /** When status last flipped. */
  "lastTransitionTime": string;
  /** CamelCase reason. */
  "reason": string;
  /** What a person can act on. */
  "message": string;
}

/** The training checkpoint it evaluates. */
export interface IMoEEvaluationStatusRunCheckpoint {
  /** Training step. */
  "step"?: number;
  /** Where the model folder is. */
  "uri"?: string;
}

/** The evaluation pod running now. */
export interface IMoEEvaluationStatusRun {
  /** Its name. */
  "pod"?: string;
  /** The training checkpoint it evaluates. */
  "checkpoint"?: IMoEEvaluationStatusRunCheckpoint;
  /** When the pod was created. */
  "startedAt"?: string;
}

/** The training checkpoint it evaluates. */
export interface IMoEEvaluationStatusTrainingQueuedItem {
  /** Training step. */
  "step"?: number;
  /** Where the model folder is. */
  "uri"?: string;
}

/** A trainingJob target's bookkeeping. */
export interface IMoEEvaluationStatusTraining {
  /** New checkpoints the operator has seen (every Nth is evaluated). */
  "seen"?: number;
  /** Step of the last checkpoint seen. */
  "lastSeenStep"?: number;
  /** Checkpoints waiting for the evaluation pod, oldest first: at most the newest Nth checkpoint and the final export (an evaluation that falls behind skips to the newest checkpoint: older ones may already be deleted by the job's checkpoint.keep). */
  "queued"?: Array<IMoEEvaluationStatusTrainingQueuedItem>;
  /** The job's final export is queued or evaluated. */
  "final"?: boolean;
  /** Runs that failed other than on bad tasks (a checkpoint folder that no longer loads, say): that checkpoint is skipped with a warning event and the next one is evaluated. Bad tasks fail the evaluation. */
  "failed"?: number;
}

/** The first task's score in the latest result (printer columns). */
export interface IMoEEvaluationStatusLatest {
  /** Task name. */
  "task"?: string;
  /** accuracy, exact_match or pass@<k>. */
  "metric"?: string;
  /** The score. */
  "score"?: number;
  /** Training step evaluated, when known. */
  "step"?: number;
}

/** The training checkpoint it evaluates. */
export interface IMoEEvaluationStatusResultsItemCheckpoint {
  /** Training step. */
  "step"?: number;
  /** Where the model folder is. */
  "uri"?: string;
}

export interface IMoEEvaluationStatusResultsItemScoresItem {
  /** Task name. */
  "name"?: string;
  /** Task type. */
  "type"?: string;
  /** accuracy (multiple_choice), exact_match (generate), pass@<k> (code). */
  "metric"?: string;
  /** Mean over the samples. */
  "score"?: number;
  /** Standard error of the mean (sample standard deviation / sqrt(n)). */
  "stderr"?: number;
  /** Samples scored. */
  "n"?: number;
}

export interface IMoEEvaluationStatusResultsItem {
  /** The training checkpoint it evaluates. */
  "checkpoint"?: IMoEEvaluationStatusResultsItemCheckpoint;
  /** What was evaluated (the API URL or the model folder). */
  "target"?: string;
  /** Hash of the spec it ran under (target, tasks, limits, template); a changed spec evaluates again. */
  "specHash"?: string;
  /** When the pod finished scoring. */
  "finishedAt"?: string;
  /** One per task, and per k for code tasks. */
  "scores"?: Array<IMoEEvaluationStatusResultsItemScoresItem>;
}

/** Observed state, written by the operator only. */
export interface IMoEEvaluationStatus {
  /** Summary of the conditions. A trainingJob target stays Running until the job has finished and its last checkpoint is evaluated. */
  "phase"?: "Pending" | "Running" | "Succeeded" | "Failed" | "Invalid";
  /** The generation the status describes. */
  "observedGeneration"?: number;
  /** Valid, TargetReady, ModelReachable, Complete, Failed, NameConflict, WriteFailed. */
  "conditions"?: Array<IMoEEvaluationStatusConditionsItem>;
  /** specHash of the spec a run failed under; a changed spec tries again. */
  "failedSpec"?: string;
  /** Evaluation pods started so far; the next pod is <name>-<runs>. */
  "runs"?: number;
  /** The evaluation pod running now. */
  "run"?: IMoEEvaluationStatusRun;
  /** A trainingJob target's bookkeeping. */
  "training"?: IMoEEvaluationStatusTraining;
  /** The first task's score in the latest result (printer columns). */
  "latest"?: IMoEEvaluationStatusLatest;
  /** Number of results. */
  "evaluated"?: number;
  /** One per evaluated model or checkpoint, oldest first (the newest 100). */
  "results"?: Array<IMoEEvaluationStatusResultsItem>;
}

/** MoEEvaluation scores a model on benchmark-format tasks (JSONL: multiple choice by log-likelihood, exact-match generation with answer extraction, code pass@k in a sandbox): a served InferenceDeployment through its OpenAI API, a model folder, or every Nth new checkpoint of a MoETrainingJob. One evaluation pod at a time runs `moe-runtime eval`; the scores (with standard error and n) accumulate in status.results. */
export interface IMoEEvaluation extends TypeMeta {
  "apiVersion": "moe.io/v1alpha1";
  "kind": "MoEEvaluation";
  "metadata"?: IObjectMeta;
  /** What to evaluate, on which tasks. */
  "spec": IMoEEvaluationSpec;
  /** Observed state, written by the operator only. */
  "status"?: IMoEEvaluationStatus;
}

export class MoEEvaluation extends Model<IMoEEvaluation> implements IMoEEvaluation {
  declare "apiVersion": IMoEEvaluation["apiVersion"];
  declare "kind": IMoEEvaluation["kind"];
  declare "metadata"?: IObjectMeta;
  declare "spec": IMoEEvaluation["spec"];
  declare "status"?: IMoEEvaluation["status"];
  static readonly apiVersion = "moe.io/v1alpha1";
  static readonly kind = "MoEEvaluation";
  static readonly is = createTypeMetaGuard<IMoEEvaluation>({ apiVersion: "moe.io/v1alpha1", kind: "MoEEvaluation" });
  constructor(data?: ModelData<IMoEEvaluation>) {
    super({ apiVersion: "moe.io/v1alpha1", kind: "MoEEvaluation", ...data } as ModelData<IMoEEvaluation>);
  }
}

/** The openAPIV3Schema of MoEEvaluation v1alpha1, for defaulting and tests. */
export const MoEEvaluationSchema: JSONSchema = {
  "type": "object",
  "description": "MoEEvaluation scores a model on benchmark-format tasks (JSONL: multiple choice by log-likelihood, exact-match generation with answer extraction, code pass@k in a sandbox): a served InferenceDeployment through its OpenAI API, a model folder, or every Nth new checkpoint of a MoETrainingJob. One evaluation pod at a time runs `moe-runtime eval`; the scores (with standard error and n) accumulate in status.results.",
  "required": [
    "spec"
  ],
  "x-kubernetes-validations": [
    {
      "rule": "self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",
      "message": "metadata.name must be a DNS label (lowercase letters, digits and '-', starting with a letter, no dots): pods are <name>-<run>, ConfigMaps <name>-eval and <name>-eval-report"
    },
    {
      "rule": "size(self.metadata.name) <= 40",
      "message": "metadata.name must be at most 40 characters (pod names are <name>-<run>, ConfigMaps <name>-eval-report)"
    }
  ],
  "properties": {
    "apiVersion": {
      "type": "string",
      "description": "APIVersion defines the versioned schema of this representation of an object."
    },
    "kind": {
      "type": "string",
      "description": "Kind is a string value representing the REST resource this object represents."
    },
    "metadata": {
      "type": "object"
    },
    "spec": {
      "type": "object",
      "description": "What to evaluate, on which tasks.",
      "required": [
        "target",
        "tasks"
      ],
      "properties": {
        "target": {
          "type": "object",
          "description": "What is evaluated. Exactly one of inferenceDeployment, checkpoint or trainingJob.",
          "x-kubernetes-validations": [
            {
              "rule": "(has(self.inferenceDeployment) ? 1 : 0) + (has(self.checkpoint) ? 1 : 0) + (has(self.trainingJob) ? 1 : 0) == 1",
              "message": "target must set exactly one of target.inferenceDeployment, target.checkpoint or target.trainingJob"
            }
          ],
          "properties": {
            "inferenceDeployment": {
              "type": "string",
              "minLength": 1,
              "maxLength": 63,
              "description": "Name of an InferenceDeployment in this namespace: evaluated through its router Service's OpenAI API (http://<name>.<namespace>.svc:<router.port>/v1), once the deployment is Available."
            },
            "checkpoint": {
              "type": "string",
              "minLength": 1,
              "description": "file:// URI of a model folder (export or run folder) as the evaluation pod sees it; mount it through the template, as for InferenceDeployment model.checkpoint. The pod loads the model itself.",
              "x-kubernetes-validations": [
                {
                  "rule": "self.startsWith('file:///')",
                  "message": "target.checkpoint must be an absolute file:// URI such as file:///models/tiny"
                }
              ]
            },
            "trainingJob": {
              "type": "object",
              "description": "A MoETrainingJob in this namespace: each Nth new checkpoint it reports (status.checkpoints.latest) is evaluated, then its final export once it has Succeeded. The pod loads each from its URI (mount the job's checkpoint storage through the template).",
              "required": [
                "name"
              ],
              "properties": {
                "name": {
                  "type": "string",
                  "minLength": 1,
                  "maxLength": 63,
                  "description": "Name of the MoETrainingJob."
                },
                "everyNthCheckpoint": {
                  "type": "integer",
                  "minimum": 1,
                  "maximum": 1000000,
                  "default": 1,
                  "description": "Evaluate every Nth checkpoint the operator sees (1 = each one); the final export always."
                }
              }
            }
          }
        },
        "tasks": {
          "type": "array",
          "minItems": 1,
          "maxItems": 64,
          "x-kubernetes-list-type": "map",
          "x-kubernetes-list-map-keys": [
            "name"
          ],
          "description": "Benchmark-format tasks, each a JSONL file (formats in runtime/src/eval/README.md).",
          "items": {
            "type": "object",
            "required": [
              "name",
              "type",
              "source"
            ],
            "x-kubernetes-validations": [
              {
                "rule": "!has(self.k) || self.k.all(x, x <= (has(self.samples) ? self.samples : 1))",
                "message": "tasks[].k must be at most tasks[].samples (pass@k needs k <= n samples per problem); raise samples or lower k"
              },
              {
                "rule": "self.type == 'code' || (!has(self.samples) && !has(self.k) && !has(self.timeoutSeconds) && !has(self.memoryMiB))",
                "message": "tasks[].samples, k, timeoutSeconds and memoryMiB apply to type code only; remove them or set type to code"
              },
              {
                "rule": "self.type == 'generate' || !has(self.answerPattern)",
                "message": "tasks[].answerPattern applies to type generate only; remove it or set type to generate"
              },
              {
                "rule": "self.type != 'multiple_choice' || !has(self.maxTokens)",
                "message": "tasks[].maxTokens does not apply to type multiple_choice (it scores by log-likelihood, generating nothing); remove it"
              }
            ],
            "properties": {
              "name": {
                "type": "string",
                "minLength": 1,
                "maxLength": 63,
                "pattern": "^[A-Za-z0-9][-_.A-Za-z0-9]*$",
                "description": "Unique name (letters, digits, '-', '_', '.'); the task label of the metrics."
              },
              "type": {
                "type": "string",
                "enum": [
                  "multiple_choice",
                  "generate",
                  "code"
                ],
                "description": "multiple_choice (accuracy by log-likelihood, MMLU-style), generate (exact match after answer extraction, GSM8K-style) or code (pass@k with unit tests in the sandbox)."
              },
              "source": {
                "type": "object",
                "description": "Where the JSONL file is. Exactly one of configMap or path.",
                "x-kubernetes-validations": [
                  {
                    "rule": "has(self.configMap) != has(self.path)",
                    "message": "tasks[].source must set exactly one of source.configMap or source.path"
                  }
                ],
                "properties": {
                  "configMap": {
                    "type": "object",
                    "description": "A key of a ConfigMap in this namespace, mounted into the evaluation pod.",
                    "required": [
                      "name",
                      "key"
                    ],
                    "properties": {
                      "name": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": 253,
                        "description": "The ConfigMap."
                      },
                      "key": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": 253,
                        "pattern": "^[-._a-zA-Z0-9]+$",
                        "description": "The key holding the JSONL text."
                      }
                    }
                  },
                  "path": {
                    "type": "string",
                    "minLength": 2,
                    "maxLength": 4096,
                    "description": "Absolute path of the JSONL file in the pod, inside a volume the template mounts.",
                    "x-kubernetes-validations": [
                      {
                        "rule": "self.startsWith('/')",
                        "message": "tasks[].source.path must be an absolute path inside a volume the template mounts, such as /data/gsm8k.jsonl"
                      }
                    ]
                  }
                }
              },
              "limit": {
                "type": "integer",
                "minimum": 1,
                "maximum": 10000000,
                "description": "Use the first `limit` samples only."
              },
              "maxTokens": {
                "type": "integer",
                "minimum": 1,
                "maximum": 32768,
                "description": "generate and code; tokens per answer."
              },
              "answerPattern": {
                "type": "string",
                "minLength": 1,
                "maxLength": 1024,
                "description": "generate; a regular expression whose first group is the answer (default \\boxed{...}, else the last number)."
              },
              "samples": {
                "type": "integer",
                "minimum": 1,
                "maximum": 1000,
                "description": "code; candidates per problem (the n of pass@k). Default 1."
              },
              "k": {
                "type": "array",
                "minItems": 1,
                "maxItems": 16,
                "description": "code; the k values reported (pass@k each). Default [1].",
                "items": {
                  "type": "integer",
                  "minimum": 1,
                  "maximum": 1000
                }
              },
              "timeoutSeconds": {
                "type": "integer",
                "minimum": 1,
                "maximum": 3600,
                "description": "code; time limit of one candidate run in the sandbox."
              },
              "memoryMiB": {
                "type": "integer",
                "minimum": 1,
                "maximum": 65536,
                "description": "code; memory limit of one candidate run in the sandbox."
              }
            }
          }
        },
        "requestTimeoutSeconds": {
          "type": "integer",
          "minimum": 1,
          "maximum": 3600,
          "default": 120,
          "description": "Per request to the model."
        },
        "retries": {
          "type": "integer",
          "minimum": 0,
          "maximum": 100,
          "default": 3,
          "description": "How often a failed request is retried before the model counts as unreachable (pod exit code 3)."
        },
        "suspend": {
          "type": "boolean",
          "default": false,
          "description": "true deletes a running evaluation pod and starts none; false goes on (the interrupted run starts again)."
        },
        "template": {
          "type": "object",
          "x-kubernetes-preserve-unknown-fields": true,
          "description": "Pod template (v1 PodTemplateSpec) of the evaluation pod: image, resources (GPUs to load a model), volumes and volumeMounts for task files and model folders. The first container runs `moe-runtime eval` (args default to [eval]); the operator adds the plan, the task ConfigMaps and the contract env."
        }
      }
    },
    "status": {
      "type": "object",
      "description": "Observed state, written by the operator only.",
      "properties": {
        "phase": {
          "type": "string",
          "enum": [
            "Pending",
            "Running",
            "Succeeded",
            "Failed",
            "Invalid"
          ],
          "description": "Summary of the conditions. A trainingJob target stays Running until the job has finished and its last checkpoint is evaluated."
        },
        "observedGeneration": {
          "type": "integer",
          "description": "The generation the status describes."
        },
        "conditions": {
          "type": "array",
          "x-kubernetes-list-type": "map",
          "x-kubernetes-list-map-keys": [
            "type"
          ],
          "description": "Valid, TargetReady, ModelReachable, Complete, Failed, NameConflict, WriteFailed.",
          "items": {
            "type": "object",
            "required": [
              "type",
              "status",
              "lastTransitionTime",
              "reason",
              "message"
            ],
            "properties": {
              "type": {
                "type": "string",
                "maxLength": 316,
                "description": "Condition type."
              },
              "status": {
                "type": "string",
                "enum": [
                  "True",
                  "False",
                  "Unknown"
                ],
                "description": "True, False or Unknown."
              },
              "observedGeneration": {
                "type": "integer",
                "minimum": 0,
                "description": "The generation the condition describes."
              },
              "lastTransitionTime": {
                "type": "string",
                "format": "date-time",
                "description": "When status last flipped."
              },
              "reason": {
                "type": "string",
                "maxLength": 1024,
                "description": "CamelCase reason."
              },
              "message": {
                "type": "string",
                "maxLength": 32768,
                "description": "What a person can act on."
              }
            }
          }
        },
        "failedSpec": {
          "type": "string",
          "description": "specHash of the spec a run failed under; a changed spec tries again."
        },
        "runs": {
          "type": "integer",
          "description": "Evaluation pods started so far; the next pod is <name>-<runs>."
        },
        "run": {
          "type": "object",
          "description": "The evaluation pod running now.",
          "properties": {
            "pod": {
              "type": "string",
              "description": "Its name."
            },
            "checkpoint": {
              "type": "object",
              "description": "The training checkpoint it evaluates.",
              "properties": {
                "step": {
                  "type": "integer",
                  "description": "Training step."
                },
                "uri": {
                  "type": "string",
                  "description": "Where the model folder is."
                }
              }
            },
            "startedAt": {
              "type": "string",
              "format": "date-time",
              "description": "When the pod was created."
            }
          }
        },
        "training": {
          "type": "object",
          "description": "A trainingJob target's bookkeeping.",
          "properties": {
            "seen": {
              "type": "integer",
              "description": "New checkpoints the operator has seen (every Nth is evaluated)."
            },
            "lastSeenStep": {
              "type": "integer",
              "description": "Step of the last checkpoint seen."
            },
            "queued": {
              "type": "array",
              "description": "Checkpoints waiting for the evaluation pod, oldest first: at most the newest Nth checkpoint and the final export (an evaluation that falls behind skips to the newest checkpoint: older ones may already be deleted by the job's checkpoint.keep).",
              "items": {
                "type": "object",
                "description": "The training checkpoint it evaluates.",
                "properties": {
                  "step": {
                    "type": "integer",
                    "description": "Training step."
                  },
                  "uri": {
                    "type": "string",
                    "description": "Where the model folder is."
                  }
                }
              }
            },
            "final": {
              "type": "boolean",
              "description": "The job's final export is queued or evaluated."
            },
            "failed": {
              "type": "integer",
              "description": "Runs that failed other than on bad tasks (a checkpoint folder that no longer loads, say): that checkpoint is skipped with a warning event and the next one is evaluated. Bad tasks fail the evaluation."
            }
          }
        },
        "latest": {
          "type": "object",
          "description": "The first task's score in the latest result (printer columns).",
          "properties": {
            "task": {
              "type": "string",
              "description": "Task name."
            },
            "metric": {
              "type": "string",
              "description": "accuracy, exact_match or pass@<k>."
            },
            "score": {
              "type": "number",
              "description": "The score."
            },
            "step": {
              "type": "integer",
              "description": "Training step evaluated, when known."
            }
          }
        },
        "evaluated": {
          "type": "integer",
          "description": "Number of results."
        },
        "results": {
          "type": "array",
          "maxItems": 100,
          "description": "One per evaluated model or checkpoint, oldest first (the newest 100).",
          "items": {
            "type": "object",
            "properties": {
              "checkpoint": {
                "type": "object",
                "description": "The training checkpoint it evaluates.",
                "properties": {
                  "step": {
                    "type": "integer",
                    "description": "Training step."
                  },
                  "uri": {
                    "type": "string",
                    "description": "Where the model folder is."
                  }
                }
              },
              "target": {
                "type": "string",
                "description": "What was evaluated (the API URL or the model folder)."
              },
              "specHash": {
                "type": "string",
                "description": "Hash of the spec it ran under (target, tasks, limits, template); a changed spec evaluates again."
              },
              "finishedAt": {
                "type": "string",
                "format": "date-time",
                "description": "When the pod finished scoring."
              },
              "scores": {
                "type": "array",
                "description": "One per task, and per k for code tasks.",
                "items": {
                  "type": "object",
                  "properties": {
                    "name": {
                      "type": "string",
                      "description": "Task name."
                    },
                    "type": {
                      "type": "string",
                      "description": "Task type."
                    },
                    "metric": {
                      "type": "string",
                      "description": "accuracy (multiple_choice), exact_match (generate), pass@<k> (code)."
                    },
                    "score": {
                      "type": "number",
                      "description": "Mean over the samples."
                    },
                    "stderr": {
                      "type": "number",
                      "description": "Standard error of the mean (sample standard deviation / sqrt(n))."
                    },
                    "n": {
                      "type": "integer",
                      "description": "Samples scored."
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
  }
};

// ---- moe.io_moetrainingjobs.yaml (v1alpha1) ----

/** Explicit architecture; field names follow DeepSeek-V3's config.json. */
export interface IMoETrainingJobSpecModelConfig {
  /** Vocabulary size (129280 for DeepSeek-V3). */
  "vocab_size": number;
  /** Model width d (7168). */
  "hidden_size": number;
  /** Inner size of the dense FFN layers (18432). Default: 18432. */
  "intermediate_size"?: number;
  /** Inner size of each routed and shared expert (2048). */
  "moe_intermediate_size": number;
  /** Transformer layers (61). */
  "num_hidden_layers": number;
  /** The first k layers use a dense FFN instead of MoE (3). Default: 0. */
  "first_k_dense_replace"?: number;
  /** Attention heads (128). */
  "num_attention_heads": number;
  /** MLA query compression rank (1536); 0 means no query compression. Default: 0. */
  "q_lora_rank"?: number;
  /** MLA key/value compression rank (512). Default: 512. */
  "kv_lora_rank"?: number;
  /** Per-head query/key dimensions without RoPE (128). Default: 128. */
  "qk_nope_head_dim"?: number;
  /** Per-head decoupled RoPE dimensions (64). Default: 64. */
  "qk_rope_head_dim"?: number;
  /** Per-head value dimensions (128). Default: 128. */
  "v_head_dim"?: number;
  /** Routed experts per MoE layer (256). */
  "n_routed_experts": number;
  /** Shared experts per MoE layer (1). Default: 1. */
  "n_shared_experts"?: number;
  /** Routed experts chosen per token (8). */
  "num_experts_per_tok": number;
  /** Expert groups for group-limited routing (8). Default: 1. */
  "n_group"?: number;
  /** Groups a token may reach (4). Default: 1. */
  "topk_group"?: number;
  /** Scale applied to the normalised routing weights (2.5). Default: 1. */
  "routed_scaling_factor"?: number;
  /** Multi-token prediction depth (1). Default: 0. */
  "num_nextn_predict_layers"?: number;
  /** Longest sequence the positional encoding supports. Default: 4096. */
  "max_position_embeddings"?: number;
  /** RMSNorm epsilon (1e-6). Default: 0.000001. */
  "rms_norm_eps"?: number;
}

/** The architecture, either a named preset or explicit fields named as in DeepSeek-V3's config.json. */
export interface IMoETrainingJobSpecModel {
  /** A named architecture. deepseek-v3-671b is the full model (61 layers, 256 routed experts); deepseek-v3-tiny is a small model of the same shape for tests. */
  "preset"?: "deepseek-v3-671b" | "deepseek-v3-tiny";
  /** Explicit architecture; field names follow DeepSeek-V3's config.json. */
  "config"?: IMoETrainingJobSpecModelConfig;
}

/** Pipeline parallelism. */
export interface IMoETrainingJobSpecParallelismPipeline {
  /** Pipeline-parallel ranks (PP). DualPipe needs an even count; DualPipeV places 2 x stages model chunks on them. Default: 1. */
  "stages"?: number;
  /** Pipeline schedule. DualPipe runs micro-batches from both ends (parameters held twice); DualPipeV folds it onto half the ranks. Default: "1F1B". */
  "schedule"?: "DualPipe" | "DualPipeV" | "1F1B";
  /** Micro-batches per step (C). DualPipe needs C even and C >= 2 x stages; DualPipeV needs C >= 2 x stages. Default: 1. */
  "microBatches"?: number;
}

/** How ranks are split. World size = pipeline.stages x expert x data x tensor; ranks are numbered tensor fastest, then expert, then pipeline, then data (rank = ((dp*PP + pp)*EP + ep)*TP + tp), so an expert-parallel group is a contiguous run of ranks. Immutable after creation. */
export interface IMoETrainingJobSpecParallelism {
  /** Pipeline parallelism. Default: {}. */
  "pipeline"?: IMoETrainingJobSpecParallelismPipeline;
  /** Expert-parallel degree (EP); routed experts are split evenly over EP ranks. Default: 1. */
  "expert"?: number;
  /** Data-parallel replicas of the whole expert-parallel pipeline (ZeRO-1 optimizer-state sharding across them); attention is data-parallel over expert x data ranks. Default: 1. */
  "data"?: number;
  /** Tensor-parallel degree; DeepSeek-V3 trains with 1. Default: 1. */
  "tensor"?: number;
  /** GPUs (ranks) per pod; a pod fills one node when this equals the topology's gpusPerNode. Default: 8. */
  "gpusPerPod"?: number;
}

/** The FP8 mixed-precision recipe. */
export interface IMoETrainingJobSpecPrecision {
  /** GEMM input format; e4m3 (float8_e4m3fn) is DeepSeek-V3's recipe, bf16 turns FP8 off. Default: "e4m3". */
  "format"?: "e4m3" | "e5m2" | "bf16";
  /** Activations are scaled per 1 x activationTile tile (per token, per channel slice). Default: 128. */
  "activationTile"?: 32 | 64 | 128 | 256;
  /** Weights are scaled per weightBlock x weightBlock block. Default: 128. */
  "weightBlock"?: 32 | 64 | 128 | 256;
  /** K elements accumulated before promotion into the FP32 accumulator. Default: 128. */
  "accumulationInterval"?: number;
  /** fp32 scales, or power-of-two scales (ue8m0). Default: "fp32". */
  "scaleFormat"?: "fp32" | "ue8m0";
}

/** AdamW settings. */
export interface IMoETrainingJobSpecTrainingOptimizer {
  /** Optimizer. Default: "adamw". */
  "name"?: "adamw";
  /** Peak learning rate (2.2e-4). Default: 0.00022. */
  "learningRate"?: number;
  /** Final learning rate after cosine decay (2.2e-5). Default: 0.000022. */
  "minLearningRate"?: number;
  /** Linear warm-up steps. Default: 2000. */
  "warmupSteps"?: number;
  /** AdamW beta1. Default: 0.9. */
  "beta1"?: number;
  /** AdamW beta2. Default: 0.95. */
  "beta2"?: number;
  /** Decoupled weight decay. Default: 0.1. */
  "weightDecay"?: number;
  /** Global gradient-norm clip. Default: 1. */
  "gradClip"?: number;
}

/** Auxiliary-loss-free load balancing. */
export interface IMoETrainingJobSpecTrainingBalance {
  /** gamma, the per-step bias update of over/under-loaded experts. Default: 0.001. */
  "biasUpdateSpeed"?: number;
  /** alpha, weight of the sequence-wise balance loss. Default: 0.0001. */
  "sequenceAuxAlpha"?: number;
}

/** Supervised fine-tuning (mode sft). The learning rate follows optimizer (warm-up, then cosine decay to minLearningRate), as DeepSeek-V3's SFT decays 5e-6 to 1e-6 over two epochs. */
export interface IMoETrainingJobSpecTrainingSft {
  /** Passes over the chat data; the job ends after this many epochs, or at training.steps if that comes first. Default: 2. */
  "epochs"?: number;
  /** Pack several samples into one sequence, with attention that does not cross samples. Default: true. */
  "packing"?: boolean;
}

/** judge only; a model-based reward through the deployment's OpenAI API. */
export interface IMoETrainingJobSpecTrainingGrpoRewardsItemJudge {
  /** Name of an InferenceDeployment in the job's namespace. */
  "inferenceDeployment": string;
  /** The judge prompt; {prompt}, {response} and {reference} are replaced. */
  "prompt"?: string;
  /** A regular expression whose first group is the score in the judge's answer (default ([0-9]+(?:[.][0-9]+)?)). */
  "scorePattern"?: string;
  /** The score is divided by this (default 10). */
  "maxScore"?: number;
  /** Retries of a failed judge call (default 2). */
  "retries"?: number;
}

export interface IMoETrainingJobSpecTrainingGrpoRewardsItem {
  /** exactMatch (response equals the reference after trimming), regex (pattern matches the response), boxed (the last \boxed{} holds the reference number), code (the response passes the reference's tests in a sandbox), judge (an InferenceDeployment scores the response). */
  "type": "exactMatch" | "regex" | "boxed" | "code" | "judge";
  /** Weight in the sum. Default: 1. */
  "weight"?: number;
  /** regex only; a JavaScript regular expression. */
  "pattern"?: string;
  /** code and judge; time limit of one evaluation (default 10). */
  "timeoutSeconds"?: number;
  /** code only; address-space limit of the sandboxed process (default 512). */
  "memoryMiB"?: number;
  /** judge only; a model-based reward through the deployment's OpenAI API. */
  "judge"?: IMoETrainingJobSpecTrainingGrpoRewardsItemJudge;
}

/** Group Relative Policy Optimization (mode grpo). Rollouts are generated inside the training pods by the runtime's serving engine from the current weights; the reference policy is the starting checkpoint. */
export interface IMoETrainingJobSpecTrainingGrpo {
  /** G, samples per prompt; advantages are normalised within each group. Default: 8. */
  "groupSize"?: number;
  /** Prompts per optimizer step (across all data-parallel ranks); a step trains on promptsPerStep x groupSize samples. Default: 8. */
  "promptsPerStep"?: number;
  /** Sampling temperature of the rollouts (0 is greedy). Default: 1. */
  "temperature"?: number;
  /** Nucleus sampling of the rollouts. Default: 1. */
  "topP"?: number;
  /** Longest response a rollout may generate. Default: 64. */
  "maxNewTokens"?: number;
  /** epsilon of the clipped policy ratio. Default: 0.2. */
  "clipEpsilon"?: number;
  /** beta, weight of the KL penalty against the reference policy. Default: 0.04. */
  "klCoef"?: number;
  /** Reward functions; a sample's reward is the weighted sum. A reward that throws or times out scores the sample 0 and is counted in status. */
  "rewards"?: Array<IMoETrainingJobSpecTrainingGrpoRewardsItem>;
}

/** Optimisation settings. */
export interface IMoETrainingJobSpecTraining {
  /** Optimizer steps to run; the job succeeds when rank 0 reports the last one. Default: 1000. */
  "steps"?: number;
  /** Sequences per optimizer step across all data-parallel ranks. Default: 64. */
  "globalBatchSize"?: number;
  /** Sequences per micro-batch on one data-parallel replica; derived from globalBatchSize when absent. */
  "microBatchSize"?: number;
  /** Tokens per sequence. Default: 4096. */
  "sequenceLength"?: number;
  /** Random seed for initialisation and data order. Default: 0. */
  "seed"?: number;
  /** AdamW settings. Default: {}. */
  "optimizer"?: IMoETrainingJobSpecTrainingOptimizer;
  /** Auxiliary-loss-free load balancing. Default: {}. */
  "balance"?: IMoETrainingJobSpecTrainingBalance;
  /** Weight of the multi-token-prediction loss. Default: 0.3. */
  "mtpLambda"?: number;
  /** pretrain (next-token loss on every token), sft (supervised fine-tuning on chat data, loss on assistant tokens only) or grpo (reinforcement learning with group-normalised advantages). sft and grpo usually start from checkpoint.initFrom. Default: "pretrain". */
  "mode"?: "pretrain" | "sft" | "grpo";
  /** Supervised fine-tuning (mode sft). The learning rate follows optimizer (warm-up, then cosine decay to minLearningRate), as DeepSeek-V3's SFT decays 5e-6 to 1e-6 over two epochs. Default: {}. */
  "sft"?: IMoETrainingJobSpecTrainingSft;
  /** Group Relative Policy Optimization (mode grpo). Rollouts are generated inside the training pods by the runtime's serving engine from the current weights; the reference policy is the starting checkpoint. Default: {}. */
  "grpo"?: IMoETrainingJobSpecTrainingGrpo;
}

/** Training data. */
export interface IMoETrainingJobSpecData {
  /** synthetic generates tokens from the seed; tokens reads a flat uint32 token file; jsonl reads text records; chat reads {"messages":[{"role","content"}]} records (mode sft); prompts reads {"prompt", "reference"} records (mode grpo). Default: "synthetic". */
  "format"?: "synthetic" | "tokens" | "jsonl" | "chat" | "prompts";
  /** Where the data lives (file:// or a path inside the pod); required unless format is synthetic. */
  "uri"?: string;
  /** Held-out data in the same format (sft, grpo); its loss (sft) or reward (grpo) is reported. */
  "heldOutUri"?: string;
}

/** The ClusterTopology to place the job on. */
export interface IMoETrainingJobSpecTopologyRef {
  /** Name of the ClusterTopology. Default: "default". */
  "name"?: string;
}

export interface IMoETrainingJobSpecPackingRulesItem {
  /** Topology level name, e.g. leaf. */
  "level": string;
  /** expert (one expert-parallel group), pipelineNeighbours (adjacent pipeline stages), pod. */
  "group": "expert" | "pipelineNeighbours" | "pod";
  /** required fails the plan when the group must cross the level; preferred only explains. Default: "preferred". */
  "mode"?: "required" | "preferred";
}

/** Placement rules. */
export interface IMoETrainingJobSpecPacking {
  /** Pack fills the fastest domains first (expert groups inside NVLink/leaf domains); Spread balances pods across leaves. Default: "Pack". */
  "strategy"?: "Pack" | "Spread";
  /** Keep a group of ranks inside one domain of a topology level; required rules fail the plan (Unschedulable) when they cannot hold. */
  "rules"?: Array<IMoETrainingJobSpecPackingRulesItem>;
  /** Node names never to use; the operator adds nodes that failed this job to status.excludedNodes. */
  "excludeNodes"?: Array<string>;
}

/** A MoETrainingJob in the same namespace; its newest checkpoint (<its spec.checkpoint.uri>/<namespace>/<name>) is used once it has Succeeded. Until then this job waits (Unschedulable, reason InitSourceNotReady). */
export interface IMoETrainingJobSpecCheckpointInitFromTrainingJob {
  /** Name of the MoETrainingJob. */
  "name": string;
}

/** Initialise the weights (and router biases) from a checkpoint, with a fresh optimizer, step 0 and the data from the start: fine-tuning a pre-trained model. Used only when nothing is resumed. Checkpoints of any parallel layout load (resharded on load). Exactly one of uri or trainingJob. */
export interface IMoETrainingJobSpecCheckpointInitFrom {
  /** file:// URI of a run folder (its newest checkpoint) or of one step-N folder, as the pods see it. */
  "uri"?: string;
  /** A MoETrainingJob in the same namespace; its newest checkpoint (<its spec.checkpoint.uri>/<namespace>/<name>) is used once it has Succeeded. Until then this job waits (Unschedulable, reason InitSourceNotReady). */
  "trainingJob"?: IMoETrainingJobSpecCheckpointInitFromTrainingJob;
}

/** Checkpointing; the runtime writes them atomically and reports them, the operator resumes from the latest good one. */
export interface IMoETrainingJobSpecCheckpoint {
  /** Steps between checkpoints. Default: 100. */
  "intervalSteps"?: number;
  /** Base location; each job writes under <uri>/<namespace>/<job>/step-<n>. Default: "file:///checkpoints". */
  "uri"?: string;
  /** Checkpoints kept; older ones are deleted by rank 0 after a newer one is reported good. Default: 3. */
  "keep"?: number;
  /** Where the first gang resumes everything (weights, optimizer moments, router biases, step, data position) from: latest (the newest checkpoint in this job's folder that every rank can load), none (start fresh, ignoring checkpoints already there), or a file:// URI of another run folder or step folder. After this job has recorded a checkpoint, a restarted gang always resumes its own. Default: "latest". */
  "resumeFrom"?: string;
  /** Initialise the weights (and router biases) from a checkpoint, with a fresh optimizer, step 0 and the data from the start: fine-tuning a pre-trained model. Used only when nothing is resumed. Checkpoints of any parallel layout load (resharded on load). Exactly one of uri or trainingJob. */
  "initFrom"?: IMoETrainingJobSpecCheckpointInitFrom;
}

/** Delay before a gang restart, doubling from initialSeconds up to maxSeconds. */
export interface IMoETrainingJobSpecFailurePolicyBackoff {
  /** Delay before the first restart. Default: 10. */
  "initialSeconds"?: number;
  /** Longest delay. Default: 300. */
  "maxSeconds"?: number;
}

export interface IMoETrainingJobSpecFailurePolicyRulesItem {
  /** FailJob ends the job; RestartGang restarts from the latest checkpoint; RestartGangExcludeNode also avoids the failed pod's node; Ignore counts nothing and restarts without using the budget. */
  "action": "FailJob" | "RestartGang" | "RestartGangExcludeNode" | "Ignore";
  /** Matches when the runtime container exited with one of these codes. */
  "onExitCodes"?: Array<number>;
  /** Matches the pod's or container's termination reason (OOMKilled, Evicted, NodeLost, DeadlineExceeded, Error). */
  "onReasons"?: Array<string>;
}

/** What to do when a rank fails. By default the whole gang restarts from the latest good checkpoint. */
export interface IMoETrainingJobSpecFailurePolicy {
  /** Gang restarts allowed before the job is Failed. Default: 3. */
  "maxRestarts"?: number;
  /** Delay before a gang restart, doubling from initialSeconds up to maxSeconds. Default: {}. */
  "backoff"?: IMoETrainingJobSpecFailurePolicyBackoff;
  /** Evaluated in order; the first rule that matches a failed pod decides. No match means RestartGang. */
  "rules"?: Array<IMoETrainingJobSpecFailurePolicyRulesItem>;
}

/** What to train and how to lay it out; model and parallelism are immutable after creation. */
export interface IMoETrainingJobSpec {
  /** The architecture, either a named preset or explicit fields named as in DeepSeek-V3's config.json. */
  "model": IMoETrainingJobSpecModel;
  /** How ranks are split. World size = pipeline.stages x expert x data x tensor; ranks are numbered tensor fastest, then expert, then pipeline, then data (rank = ((dp*PP + pp)*EP + ep)*TP + tp), so an expert-parallel group is a contiguous run of ranks. Immutable after creation. */
  "parallelism": IMoETrainingJobSpecParallelism;
  /** The FP8 mixed-precision recipe. Default: {}. */
  "precision"?: IMoETrainingJobSpecPrecision;
  /** Optimisation settings. Default: {}. */
  "training"?: IMoETrainingJobSpecTraining;
  /** Training data. Default: {}. */
  "data"?: IMoETrainingJobSpecData;
  /** The ClusterTopology to place the job on. Default: {}. */
  "topologyRef"?: IMoETrainingJobSpecTopologyRef;
  /** Placement rules. Default: {}. */
  "packing"?: IMoETrainingJobSpecPacking;
  /** Checkpointing; the runtime writes them atomically and reports them, the operator resumes from the latest good one. Default: {}. */
  "checkpoint"?: IMoETrainingJobSpecCheckpoint;
  /** What to do when a rank fails. By default the whole gang restarts from the latest good checkpoint. Default: {}. */
  "failurePolicy"?: IMoETrainingJobSpecFailurePolicy;
  /** true deletes the pods and keeps state; false resumes from the latest checkpoint. Queue managers (Kueue) toggle this. Default: false. */
  "suspend"?: boolean;
  /** Pods deleted when the job finishes. Running deletes those still running (keeps finished pods for logs); All deletes every pod; None keeps them. Default: "Running". */
  "cleanPodPolicy"?: "All" | "Running" | "None";
  /** Scheduler for the pods (e.g. volcano); the default scheduler when empty. */
  "schedulerName"?: string;
  /** Pod template (v1 PodTemplateSpec) for the runtime. The first container is the trainer; the operator adds the rank environment, the plan volume, the GPU and RDMA requests, node selectors, the scheduling gate and the headless-Service hostname. */
  "template"?: Record<string, unknown>;
}

export interface IMoETrainingJobStatusConditionsItem {
  /** Condition type. */
  "type": string;
  /** True, False or Unknown. */
  "status": "True" | "False" | "Unknown";
  /** The generation the condition describes. */
  "observedGeneration"?: number;
  /** When status last flipped. */
  "lastTransitionTime": string;
  /** CamelCase reason. */
  "reason": string;
  /** What a person can act on. */
  "message": string;
}

export interface IMoETrainingJobStatusPlanTrafficByLevelItem {
  /** Topology level name. */
  "level"?: string;
  /** Bytes per optimizer step. */
  "bytesPerStep"?: number;
}

/** Summary of the placement plan (the full plan is in the ConfigMap <job>-plan). */
export interface IMoETrainingJobStatusPlan {
  /** Ranks (GPUs). */
  "worldSize"?: number;
  /** Pods. */
  "pods"?: number;
  /** Planner's placement score (1 = all traffic on the fastest level it can use). */
  "placementScore"?: number;
  /** Name of the ConfigMap with the full plan. */
  "configMap"?: string;
  /** Estimated bytes per step crossing each topology level. */
  "trafficByLevel"?: Array<IMoETrainingJobStatusPlanTrafficByLevelItem>;
}

export interface IMoETrainingJobStatusStagesItem {
  /** Pipeline rank. */
  "stage"?: number;
  /** Pods holding ranks of this stage. */
  "pods"?: number;
  /** Of those, running and ready. */
  "ready"?: number;
}

/** The judge's URL and the last error, when judge calls failed. */
export interface IMoETrainingJobStatusProgressGrpoJudgeError {
  /** The judge's OpenAI-compatible endpoint that was called. */
  "url"?: string;
  /** The last call's error (timeout, refused connection, HTTP status, unparsable score). */
  "error"?: string;
}

/** training.mode grpo, the last step's rollouts. */
export interface IMoETrainingJobStatusProgressGrpo {
  /** Mean reward of the step's samples. */
  "rewardMean"?: number;
  /** Standard deviation of the step's rewards. */
  "rewardStd"?: number;
  /** Mean KL estimate (k3) per response token against the reference policy. */
  "kl"?: number;
  /** Mean response length in tokens. */
  "responseLength"?: number;
  /** Fraction of groups whose rewards are not all equal (the groups that carry a gradient). */
  "signalFraction"?: number;
  /** Reward evaluations of the step that threw or timed out (each scored 0). */
  "rewardErrors"?: number;
  /** Judge calls of the step that found the judge unavailable. */
  "judgeFailures"?: number;
  /** Judge calls of the step. */
  "judgeCalls"?: number;
  /** The judge's URL and the last error, when judge calls failed. */
  "judgeError"?: IMoETrainingJobStatusProgressGrpoJudgeError;
}

/** Latest progress reported by rank 0. */
export interface IMoETrainingJobStatusProgress {
  /** Optimizer steps done. */
  "step"?: number;
  /** Tokens consumed. */
  "tokens"?: number;
  /** Latest training loss. */
  "loss"?: number;
  /** Throughput over the last report interval. */
  "tokensPerSecond"?: number;
  /** training.mode sft: mean cross-entropy over the assistant tokens of data.heldOutUri, as last measured (at the start and at the end of the run). */
  "heldOutLoss"?: number;
  /** training.mode grpo, the last step's rollouts. */
  "grpo"?: IMoETrainingJobStatusProgressGrpo;
  /** When the report arrived. */
  "updateTime"?: string;
}

/** The one a restart resumes from. */
export interface IMoETrainingJobStatusCheckpointsLatest {
  /** Step the checkpoint holds. */
  "step"?: number;
  /** Where it lives. */
  "uri"?: string;
  /** When it was reported. */
  "time"?: string;
}

/** Checkpoints reported good by rank 0. */
export interface IMoETrainingJobStatusCheckpoints {
  /** The one a restart resumes from. */
  "latest"?: IMoETrainingJobStatusCheckpointsLatest;
}

/** The failure that caused the latest restart. */
export interface IMoETrainingJobStatusLastFailure {
  /** Failed pod. */
  "pod"?: string;
  /** Its node. */
  "node"?: string;
  /** Termination reason. */
  "reason"?: string;
  /** Exit code of the trainer container. */
  "exitCode"?: number;
  /** When it was seen. */
  "time"?: string;
}

/** Observed state, written by the operator only. */
export interface IMoETrainingJobStatus {
  /** Summary of the conditions. */
  "phase"?: "Pending" | "Starting" | "Running" | "Restarting" | "Suspended" | "Succeeded" | "Failed" | "Invalid" | "Unschedulable";
  /** The generation the status describes. */
  "observedGeneration"?: number;
  /** Valid, Planned, GangReleased, Running, Suspended, Restarting, Succeeded, Failed, NameConflict, WriteFailed, JudgeUnavailable (training.mode grpo, a judge InferenceDeployment missing, not serving or failing), Queued (Kueue admission). */
  "conditions"?: Array<IMoETrainingJobStatusConditionsItem>;
  /** Summary of the placement plan (the full plan is in the ConfigMap <job>-plan). */
  "plan"?: IMoETrainingJobStatusPlan;
  /** Readiness per pipeline stage. */
  "stages"?: Array<IMoETrainingJobStatusStagesItem>;
  /** Latest progress reported by rank 0. */
  "progress"?: IMoETrainingJobStatusProgress;
  /** Checkpoints reported good by rank 0. */
  "checkpoints"?: IMoETrainingJobStatusCheckpoints;
  /** Gang restarts counted against failurePolicy.maxRestarts. */
  "restarts"?: number;
  /** Current gang attempt (MOE_RESTART); increments on every restart, counted or not. */
  "attempt"?: number;
  /** The failure that caused the latest restart. */
  "lastFailure"?: IMoETrainingJobStatusLastFailure;
  /** Earliest time of the pending gang restart (backoff). */
  "restartAfter"?: string;
  /** Nodes avoided on re-placement because a rank failed there. */
  "excludedNodes"?: Array<string>;
  /** When the current gang was released. */
  "startTime"?: string;
  /** When the job succeeded or failed. */
  "completionTime"?: string;
}

/** MoETrainingJob trains a DeepSeek-V3-style Mixture-of-Experts model. The operator plans parallelism and placement on the ClusterTopology, starts the whole gang at once (pods pinned to nodes with verified room, else created behind a scheduling gate that comes off all of them together), records progress and checkpoints, and restarts the whole gang from the latest good checkpoint on failure. */
export interface IMoETrainingJob extends TypeMeta {
  "apiVersion": "moe.io/v1alpha1";
  "kind": "MoETrainingJob";
  "metadata"?: IObjectMeta;
  /** What to train and how to lay it out; model and parallelism are immutable after creation. */
  "spec": IMoETrainingJobSpec;
  /** Observed state, written by the operator only. */
  "status"?: IMoETrainingJobStatus;
}

export class MoETrainingJob extends Model<IMoETrainingJob> implements IMoETrainingJob {
  declare "apiVersion": IMoETrainingJob["apiVersion"];
  declare "kind": IMoETrainingJob["kind"];
  declare "metadata"?: IObjectMeta;
  declare "spec": IMoETrainingJob["spec"];
  declare "status"?: IMoETrainingJob["status"];
  static readonly apiVersion = "moe.io/v1alpha1";
  static readonly kind = "MoETrainingJob";
  static readonly is = createTypeMetaGuard<IMoETrainingJob>({ apiVersion: "moe.io/v1alpha1", kind: "MoETrainingJob" });
  constructor(data?: ModelData<IMoETrainingJob>) {
    super({ apiVersion: "moe.io/v1alpha1", kind: "MoETrainingJob", ...data } as ModelData<IMoETrainingJob>);
  }
}

/** The openAPIV3Schema of MoETrainingJob v1alpha1, for defaulting and tests. */
export const MoETrainingJobSchema: JSONSchema = {
  "type": "object",
  "description": "MoETrainingJob trains a DeepSeek-V3-style Mixture-of-Experts model. The operator plans parallelism and placement on the ClusterTopology, starts the whole gang at once (pods pinned to nodes with verified room, else created behind a scheduling gate that comes off all of them together), records progress and checkpoints, and restarts the whole gang from the latest good checkpoint on failure.",
  "required": [
    "spec"
  ],
  "x-kubernetes-validations": [
    {
      "rule": "self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",
      "message": "metadata.name must be a DNS label (lowercase letters, digits and '-', starting with a letter, no dots): the job's Service and pod hostnames are <name> and <name>-<index>"
    },
    {
      "rule": "size(self.metadata.name) <= 50",
      "message": "metadata.name must be at most 50 characters (pod hostnames are <name>-<index>, at most 63)"
    }
  ],
  "properties": {
    "apiVersion": {
      "type": "string",
      "description": "APIVersion defines the versioned schema of this representation of an object."
    },
    "kind": {
      "type": "string",
      "description": "Kind is a string value representing the REST resource this object represents."
    },
    "metadata": {
      "type": "object"
    },
    "spec": {
      "type": "object",
      "description": "What to train and how to lay it out; model and parallelism are immutable after creation.",
      "required": [
        "model",
        "parallelism"
      ],
      "x-kubernetes-validations": [
        {
          "rule": "!has(self.model.config) || self.model.config.n_routed_experts % self.parallelism.expert == 0",
          "message": "model.config.n_routed_experts must be divisible by parallelism.expert (each EP rank holds the same number of routed experts)"
        },
        {
          "rule": "!has(self.model.config) || self.parallelism.pipeline.stages <= self.model.config.num_hidden_layers",
          "message": "parallelism.pipeline.stages must not exceed model.config.num_hidden_layers (each stage needs at least one layer)"
        },
        {
          "rule": "!has(self.training) || !has(self.training.mode) || self.training.mode != 'sft' || (has(self.data) && has(self.data.format) && self.data.format == 'chat')",
          "message": "training.mode sft needs data.format: chat (JSONL lines of {\"messages\": [{\"role\", \"content\"}]}) and data.uri"
        },
        {
          "rule": "!has(self.training) || !has(self.training.mode) || self.training.mode != 'grpo' || (has(self.data) && has(self.data.format) && self.data.format == 'prompts')",
          "message": "training.mode grpo needs data.format: prompts (JSONL lines of {\"prompt\", \"reference\"}) and data.uri"
        },
        {
          "rule": "!has(self.training) || !has(self.training.mode) || self.training.mode != 'grpo' || (has(self.training.grpo) && has(self.training.grpo.rewards))",
          "message": "training.mode grpo needs training.grpo.rewards (at least one of exactMatch, regex, boxed, code, judge)"
        }
      ],
      "properties": {
        "model": {
          "type": "object",
          "description": "The architecture, either a named preset or explicit fields named as in DeepSeek-V3's config.json.",
          "x-kubernetes-validations": [
            {
              "rule": "has(self.preset) != has(self.config)",
              "message": "set exactly one of model.preset or model.config"
            },
            {
              "rule": "self == oldSelf",
              "message": "model is immutable after creation; create a new job instead"
            }
          ],
          "properties": {
            "preset": {
              "type": "string",
              "enum": [
                "deepseek-v3-671b",
                "deepseek-v3-tiny"
              ],
              "description": "A named architecture. deepseek-v3-671b is the full model (61 layers, 256 routed experts); deepseek-v3-tiny is a small model of the same shape for tests."
            },
            "config": {
              "type": "object",
              "description": "Explicit architecture; field names follow DeepSeek-V3's config.json.",
              "required": [
                "vocab_size",
                "hidden_size",
                "num_hidden_layers",
                "num_attention_heads",
                "n_routed_experts",
                "num_experts_per_tok",
                "moe_intermediate_size"
              ],
              "x-kubernetes-validations": [
                {
                  "rule": "self.num_experts_per_tok <= self.n_routed_experts",
                  "message": "model.config.num_experts_per_tok must not exceed n_routed_experts"
                },
                {
                  "rule": "self.n_routed_experts % self.n_group == 0",
                  "message": "model.config.n_routed_experts must be divisible by n_group (groups are equal runs of experts)"
                },
                {
                  "rule": "self.topk_group <= self.n_group",
                  "message": "model.config.topk_group must not exceed n_group"
                },
                {
                  "rule": "self.first_k_dense_replace <= self.num_hidden_layers",
                  "message": "model.config.first_k_dense_replace must not exceed num_hidden_layers"
                }
              ],
              "properties": {
                "vocab_size": {
                  "type": "integer",
                  "minimum": 1,
                  "maximum": 1048576,
                  "description": "Vocabulary size (129280 for DeepSeek-V3)."
                },
                "hidden_size": {
                  "type": "integer",
                  "minimum": 1,
                  "maximum": 65536,
                  "description": "Model width d (7168)."
                },
                "intermediate_size": {
                  "type": "integer",
                  "minimum": 1,
                  "maximum": 262144,
                  "default": 18432,
                  "description": "Inner size of the dense FFN layers (18432)."
                },
                "moe_intermediate_size": {
                  "type": "integer",
                  "minimum": 1,
                  "maximum": 65536,
                  "description": "Inner size of each routed and shared expert (2048)."
                },
                "num_hidden_layers": {
                  "type": "integer",
                  "minimum": 1,
                  "maximum": 1024,
                  "description": "Transformer layers (61)."
                },
                "first_k_dense_replace": {
                  "type": "integer",
                  "minimum": 0,
                  "maximum": 1024,
                  "default": 0,
                  "description": "The first k layers use a dense FFN instead of MoE (3)."
                },
                "num_attention_heads": {
                  "type": "integer",
                  "minimum": 1,
                  "maximum": 1024,
                  "description": "Attention heads (128)."
                },
                "q_lora_rank": {
                  "type": "integer",
                  "minimum": 0,
                  "maximum": 65536,
                  "default": 0,
                  "description": "MLA query compression rank (1536); 0 means no query compression."
                },
                "kv_lora_rank": {
                  "type": "integer",
                  "minimum": 1,
                  "maximum": 65536,
                  "default": 512,
                  "description": "MLA key/value compression rank (512)."
                },
                "qk_nope_head_dim": {
                  "type": "integer",
                  "minimum": 1,
                  "maximum": 1024,
                  "default": 128,
                  "description": "Per-head query/key dimensions without RoPE (128)."
                },
                "qk_rope_head_dim": {
                  "type": "integer",
                  "minimum": 1,
                  "maximum": 1024,
                  "default": 64,
                  "description": "Per-head decoupled RoPE dimensions (64)."
                },
                "v_head_dim": {
                  "type": "integer",
                  "minimum": 1,
                  "maximum": 1024,
                  "default": 128,
                  "description": "Per-head value dimensions (128)."
                },
                "n_routed_experts": {
                  "type": "integer",
                  "minimum": 1,
                  "maximum": 16384,
                  "description": "Routed experts per MoE layer (256)."
                },
                "n_shared_experts": {
                  "type": "integer",
                  "minimum": 0,
                  "maximum": 64,
                  "default": 1,
                  "description": "Shared experts per MoE layer (1)."
                },
                "num_experts_per_tok": {
                  "type": "integer",
                  "minimum": 1,
                  "maximum": 1024,
                  "description": "Routed experts chosen per token (8)."
                },
                "n_group": {
                  "type": "integer",
                  "minimum": 1,
                  "maximum": 16384,
                  "default": 1,
                  "description": "Expert groups for group-limited routing (8)."
                },
                "topk_group": {
                  "type": "integer",
                  "minimum": 1,
                  "maximum": 16384,
                  "default": 1,
                  "description": "Groups a token may reach (4)."
                },
                "routed_scaling_factor": {
                  "type": "number",
                  "minimum": 0,
                  "maximum": 1000,
                  "default": 1,
                  "description": "Scale applied to the normalised routing weights (2.5)."
                },
                "num_nextn_predict_layers": {
                  "type": "integer",
                  "minimum": 0,
                  "maximum": 16,
                  "default": 0,
                  "description": "Multi-token prediction depth (1)."
                },
                "max_position_embeddings": {
                  "type": "integer",
                  "minimum": 1,
                  "maximum": 16777216,
                  "default": 4096,
                  "description": "Longest sequence the positional encoding supports."
                },
                "rms_norm_eps": {
                  "type": "number",
                  "minimum": 0,
                  "maximum": 1,
                  "default": 0.000001,
                  "description": "RMSNorm epsilon (1e-6)."
                }
              }
            }
          }
        },
        "parallelism": {
          "type": "object",
          "description": "How ranks are split. World size = pipeline.stages x expert x data x tensor; ranks are numbered tensor fastest, then expert, then pipeline, then data (rank = ((dp*PP + pp)*EP + ep)*TP + tp), so an expert-parallel group is a contiguous run of ranks. Immutable after creation.",
          "x-kubernetes-validations": [
            {
              "rule": "self == oldSelf",
              "message": "parallelism is immutable after creation; create a new job instead"
            },
            {
              "rule": "self.pipeline.schedule != 'DualPipe' || self.pipeline.stages % 2 == 0",
              "message": "DualPipe needs an even number of pipeline stages (parallelism.pipeline.stages); use DualPipeV or 1F1B for odd counts"
            },
            {
              "rule": "self.pipeline.schedule != 'DualPipe' || self.pipeline.microBatches % 2 == 0",
              "message": "DualPipe needs an even number of micro-batches (parallelism.pipeline.microBatches), half enter from each end"
            },
            {
              "rule": "self.pipeline.schedule == '1F1B' || self.pipeline.microBatches >= 2 * self.pipeline.stages",
              "message": "DualPipe and DualPipeV need parallelism.pipeline.microBatches >= 2 x parallelism.pipeline.stages"
            },
            {
              "rule": "(self.pipeline.stages * self.expert * self.data * self.tensor) % self.gpusPerPod == 0",
              "message": "world size (pipeline.stages x expert x data x tensor) must be a multiple of parallelism.gpusPerPod"
            },
            {
              "rule": "self.gpusPerPod % self.tensor == 0",
              "message": "parallelism.tensor must divide gpusPerPod so a tensor-parallel group stays inside one pod (NVLink)"
            },
            {
              "rule": "self.pipeline.stages * self.expert * self.data * self.tensor <= 131072",
              "message": "world size (pipeline.stages x expert x data x tensor) must be at most 131072 GPUs, the most the planner places; lower data or expert"
            }
          ],
          "properties": {
            "pipeline": {
              "type": "object",
              "description": "Pipeline parallelism.",
              "default": {},
              "properties": {
                "stages": {
                  "type": "integer",
                  "minimum": 1,
                  "maximum": 256,
                  "default": 1,
                  "description": "Pipeline-parallel ranks (PP). DualPipe needs an even count; DualPipeV places 2 x stages model chunks on them."
                },
                "schedule": {
                  "type": "string",
                  "enum": [
                    "DualPipe",
                    "DualPipeV",
                    "1F1B"
                  ],
                  "default": "1F1B",
                  "description": "Pipeline schedule. DualPipe runs micro-batches from both ends (parameters held twice); DualPipeV folds it onto half the ranks."
                },
                "microBatches": {
                  "type": "integer",
                  "minimum": 1,
                  "maximum": 65536,
                  "default": 1,
                  "description": "Micro-batches per step (C). DualPipe needs C even and C >= 2 x stages; DualPipeV needs C >= 2 x stages."
                }
              }
            },
            "expert": {
              "type": "integer",
              "minimum": 1,
              "maximum": 4096,
              "default": 1,
              "description": "Expert-parallel degree (EP); routed experts are split evenly over EP ranks."
            },
            "data": {
              "type": "integer",
              "minimum": 1,
              "maximum": 65536,
              "default": 1,
              "description": "Data-parallel replicas of the whole expert-parallel pipeline (ZeRO-1 optimizer-state sharding across them); attention is data-parallel over expert x data ranks."
            },
            "tensor": {
              "type": "integer",
              "minimum": 1,
              "maximum": 64,
              "default": 1,
              "description": "Tensor-parallel degree; DeepSeek-V3 trains with 1."
            },
            "gpusPerPod": {
              "type": "integer",
              "minimum": 1,
              "maximum": 64,
              "default": 8,
              "description": "GPUs (ranks) per pod; a pod fills one node when this equals the topology's gpusPerNode."
            }
          }
        },
        "precision": {
          "type": "object",
          "description": "The FP8 mixed-precision recipe.",
          "default": {},
          "properties": {
            "format": {
              "type": "string",
              "enum": [
                "e4m3",
                "e5m2",
                "bf16"
              ],
              "default": "e4m3",
              "description": "GEMM input format; e4m3 (float8_e4m3fn) is DeepSeek-V3's recipe, bf16 turns FP8 off."
            },
            "activationTile": {
              "type": "integer",
              "enum": [
                32,
                64,
                128,
                256
              ],
              "default": 128,
              "description": "Activations are scaled per 1 x activationTile tile (per token, per channel slice)."
            },
            "weightBlock": {
              "type": "integer",
              "enum": [
                32,
                64,
                128,
                256
              ],
              "default": 128,
              "description": "Weights are scaled per weightBlock x weightBlock block."
            },
            "accumulationInterval": {
              "type": "integer",
              "minimum": 1,
              "maximum": 65536,
              "default": 128,
              "description": "K elements accumulated before promotion into the FP32 accumulator."
            },
            "scaleFormat": {
              "type": "string",
              "enum": [
                "fp32",
                "ue8m0"
              ],
              "default": "fp32",
              "description": "fp32 scales, or power-of-two scales (ue8m0)."
            }
          }
        },
        "training": {
          "type": "object",
          "description": "Optimisation settings.",
          "default": {},
          "properties": {
            "steps": {
              "type": "integer",
              "minimum": 1,
              "maximum": 1000000000,
              "default": 1000,
              "description": "Optimizer steps to run; the job succeeds when rank 0 reports the last one."
            },
            "globalBatchSize": {
              "type": "integer",
              "minimum": 1,
              "maximum": 16777216,
              "default": 64,
              "description": "Sequences per optimizer step across all data-parallel ranks."
            },
            "microBatchSize": {
              "type": "integer",
              "minimum": 1,
              "maximum": 16777216,
              "description": "Sequences per micro-batch on one data-parallel replica; derived from globalBatchSize when absent."
            },
            "sequenceLength": {
              "type": "integer",
              "minimum": 1,
              "maximum": 16777216,
              "default": 4096,
              "description": "Tokens per sequence."
            },
            "seed": {
              "type": "integer",
              "minimum": 0,
              "maximum": 4294967295,
              "default": 0,
              "description": "Random seed for initialisation and data order."
            },
            "optimizer": {
              "type": "object",
              "description": "AdamW settings.",
              "default": {},
              "properties": {
                "name": {
                  "type": "string",
                  "enum": [
                    "adamw"
                  ],
                  "default": "adamw",
                  "description": "Optimizer."
                },
                "learningRate": {
                  "type": "number",
                  "minimum": 0,
                  "maximum": 1,
                  "default": 0.00022,
                  "description": "Peak learning rate (2.2e-4)."
                },
                "minLearningRate": {
                  "type": "number",
                  "minimum": 0,
                  "maximum": 1,
                  "default": 0.000022,
                  "description": "Final learning rate after cosine decay (2.2e-5)."
                },
                "warmupSteps": {
                  "type": "integer",
                  "minimum": 0,
                  "maximum": 1000000000,
                  "default": 2000,
                  "description": "Linear warm-up steps."
                },
                "beta1": {
                  "type": "number",
                  "minimum": 0,
                  "maximum": 1,
                  "default": 0.9,
                  "description": "AdamW beta1."
                },
                "beta2": {
                  "type": "number",
                  "minimum": 0,
                  "maximum": 1,
                  "default": 0.95,
                  "description": "AdamW beta2."
                },
                "weightDecay": {
                  "type": "number",
                  "minimum": 0,
                  "maximum": 10,
                  "default": 0.1,
                  "description": "Decoupled weight decay."
                },
                "gradClip": {
                  "type": "number",
                  "minimum": 0,
                  "maximum": 1000000,
                  "default": 1,
                  "description": "Global gradient-norm clip."
                }
              }
            },
            "balance": {
              "type": "object",
              "description": "Auxiliary-loss-free load balancing.",
              "default": {},
              "properties": {
                "biasUpdateSpeed": {
                  "type": "number",
                  "minimum": 0,
                  "maximum": 1,
                  "default": 0.001,
                  "description": "gamma, the per-step bias update of over/under-loaded experts."
                },
                "sequenceAuxAlpha": {
                  "type": "number",
                  "minimum": 0,
                  "maximum": 1,
                  "default": 0.0001,
                  "description": "alpha, weight of the sequence-wise balance loss."
                }
              }
            },
            "mtpLambda": {
              "type": "number",
              "minimum": 0,
              "maximum": 10,
              "default": 0.3,
              "description": "Weight of the multi-token-prediction loss."
            },
            "mode": {
              "type": "string",
              "enum": [
                "pretrain",
                "sft",
                "grpo"
              ],
              "default": "pretrain",
              "description": "pretrain (next-token loss on every token), sft (supervised fine-tuning on chat data, loss on assistant tokens only) or grpo (reinforcement learning with group-normalised advantages). sft and grpo usually start from checkpoint.initFrom."
            },
            "sft": {
              "type": "object",
              "description": "Supervised fine-tuning (mode sft). The learning rate follows optimizer (warm-up, then cosine decay to minLearningRate), as DeepSeek-V3's SFT decays 5e-6 to 1e-6 over two epochs.",
              "default": {},
              "properties": {
                "epochs": {
                  "type": "integer",
                  "minimum": 1,
                  "maximum": 1000,
                  "default": 2,
                  "description": "Passes over the chat data; the job ends after this many epochs, or at training.steps if that comes first."
                },
                "packing": {
                  "type": "boolean",
                  "default": true,
                  "description": "Pack several samples into one sequence, with attention that does not cross samples."
                }
              }
            },
            "grpo": {
              "type": "object",
              "description": "Group Relative Policy Optimization (mode grpo). Rollouts are generated inside the training pods by the runtime's serving engine from the current weights; the reference policy is the starting checkpoint.",
              "default": {},
              "properties": {
                "groupSize": {
                  "type": "integer",
                  "minimum": 2,
                  "maximum": 1024,
                  "default": 8,
                  "description": "G, samples per prompt; advantages are normalised within each group."
                },
                "promptsPerStep": {
                  "type": "integer",
                  "minimum": 1,
                  "maximum": 65536,
                  "default": 8,
                  "description": "Prompts per optimizer step (across all data-parallel ranks); a step trains on promptsPerStep x groupSize samples."
                },
                "temperature": {
                  "type": "number",
                  "minimum": 0,
                  "maximum": 10,
                  "default": 1,
                  "description": "Sampling temperature of the rollouts (0 is greedy)."
                },
                "topP": {
                  "type": "number",
                  "minimum": 0,
                  "maximum": 1,
                  "default": 1,
                  "description": "Nucleus sampling of the rollouts."
                },
                "maxNewTokens": {
                  "type": "integer",
                  "minimum": 1,
                  "maximum": 1048576,
                  "default": 64,
                  "description": "Longest response a rollout may generate."
                },
                "clipEpsilon": {
                  "type": "number",
                  "minimum": 0,
                  "maximum": 10,
                  "default": 0.2,
                  "description": "epsilon of the clipped policy ratio."
                },
                "klCoef": {
                  "type": "number",
                  "minimum": 0,
                  "maximum": 100,
                  "default": 0.04,
                  "description": "beta, weight of the KL penalty against the reference policy."
                },
                "rewards": {
                  "type": "array",
                  "minItems": 1,
                  "maxItems": 16,
                  "description": "Reward functions; a sample's reward is the weighted sum. A reward that throws or times out scores the sample 0 and is counted in status.",
                  "items": {
                    "type": "object",
                    "required": [
                      "type"
                    ],
                    "x-kubernetes-validations": [
                      {
                        "rule": "self.type != 'regex' || has(self.pattern)",
                        "message": "a regex reward needs pattern"
                      },
                      {
                        "rule": "self.type != 'judge' || has(self.judge)",
                        "message": "a judge reward needs judge.inferenceDeployment"
                      }
                    ],
                    "properties": {
                      "type": {
                        "type": "string",
                        "enum": [
                          "exactMatch",
                          "regex",
                          "boxed",
                          "code",
                          "judge"
                        ],
                        "description": "exactMatch (response equals the reference after trimming), regex (pattern matches the response), boxed (the last \\boxed{} holds the reference number), code (the response passes the reference's tests in a sandbox), judge (an InferenceDeployment scores the response)."
                      },
                      "weight": {
                        "type": "number",
                        "minimum": -1000,
                        "maximum": 1000,
                        "default": 1,
                        "description": "Weight in the sum."
                      },
                      "pattern": {
                        "type": "string",
                        "maxLength": 4096,
                        "description": "regex only; a JavaScript regular expression."
                      },
                      "timeoutSeconds": {
                        "type": "number",
                        "minimum": 0.1,
                        "maximum": 3600,
                        "description": "code and judge; time limit of one evaluation (default 10)."
                      },
                      "memoryMiB": {
                        "type": "integer",
                        "minimum": 16,
                        "maximum": 65536,
                        "description": "code only; address-space limit of the sandboxed process (default 512)."
                      },
                      "judge": {
                        "type": "object",
                        "required": [
                          "inferenceDeployment"
                        ],
                        "description": "judge only; a model-based reward through the deployment's OpenAI API.",
                        "properties": {
                          "inferenceDeployment": {
                            "type": "string",
                            "description": "Name of an InferenceDeployment in the job's namespace."
                          },
                          "prompt": {
                            "type": "string",
                            "maxLength": 65536,
                            "description": "The judge prompt; {prompt}, {response} and {reference} are replaced."
                          },
                          "scorePattern": {
                            "type": "string",
                            "maxLength": 4096,
                            "description": "A regular expression whose first group is the score in the judge's answer (default ([0-9]+(?:[.][0-9]+)?))."
                          },
                          "maxScore": {
                            "type": "number",
                            "minimum": 0.000001,
                            "maximum": 1000000,
                            "description": "The score is divided by this (default 10)."
                          },
                          "retries": {
                            "type": "integer",
                            "minimum": 0,
                            "maximum": 10,
                            "description": "Retries of a failed judge call (default 2)."
                          }
                        }
                      }
                    }
                  }
                }
              }
            }
          }
        },
        "data": {
          "type": "object",
          "description": "Training data.",
          "default": {},
          "properties": {
            "format": {
              "type": "string",
              "enum": [
                "synthetic",
                "tokens",
                "jsonl",
                "chat",
                "prompts"
              ],
              "default": "synthetic",
              "description": "synthetic generates tokens from the seed; tokens reads a flat uint32 token file; jsonl reads text records; chat reads {\"messages\":[{\"role\",\"content\"}]} records (mode sft); prompts reads {\"prompt\", \"reference\"} records (mode grpo)."
            },
            "uri": {
              "type": "string",
              "description": "Where the data lives (file:// or a path inside the pod); required unless format is synthetic."
            },
            "heldOutUri": {
              "type": "string",
              "description": "Held-out data in the same format (sft, grpo); its loss (sft) or reward (grpo) is reported."
            }
          },
          "x-kubernetes-validations": [
            {
              "rule": "!has(self.format) || self.format == 'synthetic' || has(self.uri)",
              "message": "data.uri is required unless data.format is synthetic"
            }
          ]
        },
        "topologyRef": {
          "type": "object",
          "description": "The ClusterTopology to place the job on.",
          "default": {},
          "properties": {
            "name": {
              "type": "string",
              "default": "default",
              "description": "Name of the ClusterTopology."
            }
          }
        },
        "packing": {
          "type": "object",
          "description": "Placement rules.",
          "default": {},
          "properties": {
            "strategy": {
              "type": "string",
              "enum": [
                "Pack",
                "Spread"
              ],
              "default": "Pack",
              "description": "Pack fills the fastest domains first (expert groups inside NVLink/leaf domains); Spread balances pods across leaves."
            },
            "rules": {
              "type": "array",
              "maxItems": 16,
              "description": "Keep a group of ranks inside one domain of a topology level; required rules fail the plan (Unschedulable) when they cannot hold.",
              "items": {
                "type": "object",
                "required": [
                  "level",
                  "group"
                ],
                "properties": {
                  "level": {
                    "type": "string",
                    "description": "Topology level name, e.g. leaf."
                  },
                  "group": {
                    "type": "string",
                    "enum": [
                      "expert",
                      "pipelineNeighbours",
                      "pod"
                    ],
                    "description": "expert (one expert-parallel group), pipelineNeighbours (adjacent pipeline stages), pod."
                  },
                  "mode": {
                    "type": "string",
                    "enum": [
                      "required",
                      "preferred"
                    ],
                    "default": "preferred",
                    "description": "required fails the plan when the group must cross the level; preferred only explains."
                  }
                }
              }
            },
            "excludeNodes": {
              "type": "array",
              "maxItems": 4096,
              "items": {
                "type": "string"
              },
              "description": "Node names never to use; the operator adds nodes that failed this job to status.excludedNodes."
            }
          }
        },
        "checkpoint": {
          "type": "object",
          "description": "Checkpointing; the runtime writes them atomically and reports them, the operator resumes from the latest good one.",
          "default": {},
          "properties": {
            "intervalSteps": {
              "type": "integer",
              "minimum": 1,
              "maximum": 1000000000,
              "default": 100,
              "description": "Steps between checkpoints."
            },
            "uri": {
              "type": "string",
              "default": "file:///checkpoints",
              "description": "Base location; each job writes under <uri>/<namespace>/<job>/step-<n>."
            },
            "keep": {
              "type": "integer",
              "minimum": 1,
              "maximum": 1000,
              "default": 3,
              "description": "Checkpoints kept; older ones are deleted by rank 0 after a newer one is reported good."
            },
            "resumeFrom": {
              "type": "string",
              "default": "latest",
              "description": "Where the first gang resumes everything (weights, optimizer moments, router biases, step, data position) from: latest (the newest checkpoint in this job's folder that every rank can load), none (start fresh, ignoring checkpoints already there), or a file:// URI of another run folder or step folder. After this job has recorded a checkpoint, a restarted gang always resumes its own."
            },
            "initFrom": {
              "type": "object",
              "description": "Initialise the weights (and router biases) from a checkpoint, with a fresh optimizer, step 0 and the data from the start: fine-tuning a pre-trained model. Used only when nothing is resumed. Checkpoints of any parallel layout load (resharded on load). Exactly one of uri or trainingJob.",
              "x-kubernetes-validations": [
                {
                  "rule": "has(self.uri) != has(self.trainingJob)",
                  "message": "set exactly one of checkpoint.initFrom.uri or checkpoint.initFrom.trainingJob"
                }
              ],
              "properties": {
                "uri": {
                  "type": "string",
                  "minLength": 1,
                  "description": "file:// URI of a run folder (its newest checkpoint) or of one step-N folder, as the pods see it.",
                  "x-kubernetes-validations": [
                    {
                      "rule": "self.startsWith('file:///')",
                      "message": "checkpoint.initFrom.uri must be an absolute file:// URI such as file:///checkpoints/team/pretrain"
                    }
                  ]
                },
                "trainingJob": {
                  "type": "object",
                  "description": "A MoETrainingJob in the same namespace; its newest checkpoint (<its spec.checkpoint.uri>/<namespace>/<name>) is used once it has Succeeded. Until then this job waits (Unschedulable, reason InitSourceNotReady).",
                  "required": [
                    "name"
                  ],
                  "properties": {
                    "name": {
                      "type": "string",
                      "minLength": 1,
                      "description": "Name of the MoETrainingJob."
                    }
                  }
                }
              }
            }
          }
        },
        "failurePolicy": {
          "type": "object",
          "description": "What to do when a rank fails. By default the whole gang restarts from the latest good checkpoint.",
          "default": {},
          "properties": {
            "maxRestarts": {
              "type": "integer",
              "minimum": 0,
              "maximum": 1000,
              "default": 3,
              "description": "Gang restarts allowed before the job is Failed."
            },
            "backoff": {
              "type": "object",
              "description": "Delay before a gang restart, doubling from initialSeconds up to maxSeconds.",
              "default": {},
              "properties": {
                "initialSeconds": {
                  "type": "integer",
                  "minimum": 0,
                  "maximum": 86400,
                  "default": 10,
                  "description": "Delay before the first restart."
                },
                "maxSeconds": {
                  "type": "integer",
                  "minimum": 0,
                  "maximum": 86400,
                  "default": 300,
                  "description": "Longest delay."
                }
              }
            },
            "rules": {
              "type": "array",
              "maxItems": 32,
              "description": "Evaluated in order; the first rule that matches a failed pod decides. No match means RestartGang.",
              "items": {
                "type": "object",
                "required": [
                  "action"
                ],
                "x-kubernetes-validations": [
                  {
                    "rule": "has(self.onExitCodes) || has(self.onReasons)",
                    "message": "a failure rule needs onExitCodes or onReasons"
                  }
                ],
                "properties": {
                  "action": {
                    "type": "string",
                    "enum": [
                      "FailJob",
                      "RestartGang",
                      "RestartGangExcludeNode",
                      "Ignore"
                    ],
                    "description": "FailJob ends the job; RestartGang restarts from the latest checkpoint; RestartGangExcludeNode also avoids the failed pod's node; Ignore counts nothing and restarts without using the budget."
                  },
                  "onExitCodes": {
                    "type": "array",
                    "maxItems": 255,
                    "items": {
                      "type": "integer",
                      "minimum": 0,
                      "maximum": 255
                    },
                    "description": "Matches when the runtime container exited with one of these codes."
                  },
                  "onReasons": {
                    "type": "array",
                    "maxItems": 16,
                    "items": {
                      "type": "string"
                    },
                    "description": "Matches the pod's or container's termination reason (OOMKilled, Evicted, NodeLost, DeadlineExceeded, Error)."
                  }
                }
              }
            }
          }
        },
        "suspend": {
          "type": "boolean",
          "default": false,
          "description": "true deletes the pods and keeps state; false resumes from the latest checkpoint. Queue managers (Kueue) toggle this."
        },
        "cleanPodPolicy": {
          "type": "string",
          "enum": [
            "All",
            "Running",
            "None"
          ],
          "default": "Running",
          "description": "Pods deleted when the job finishes. Running deletes those still running (keeps finished pods for logs); All deletes every pod; None keeps them."
        },
        "schedulerName": {
          "type": "string",
          "description": "Scheduler for the pods (e.g. volcano); the default scheduler when empty."
        },
        "template": {
          "type": "object",
          "x-kubernetes-preserve-unknown-fields": true,
          "description": "Pod template (v1 PodTemplateSpec) for the runtime. The first container is the trainer; the operator adds the rank environment, the plan volume, the GPU and RDMA requests, node selectors, the scheduling gate and the headless-Service hostname."
        }
      }
    },
    "status": {
      "type": "object",
      "description": "Observed state, written by the operator only.",
      "properties": {
        "phase": {
          "type": "string",
          "enum": [
            "Pending",
            "Starting",
            "Running",
            "Restarting",
            "Suspended",
            "Succeeded",
            "Failed",
            "Invalid",
            "Unschedulable"
          ],
          "description": "Summary of the conditions."
        },
        "observedGeneration": {
          "type": "integer",
          "description": "The generation the status describes."
        },
        "conditions": {
          "type": "array",
          "x-kubernetes-list-type": "map",
          "x-kubernetes-list-map-keys": [
            "type"
          ],
          "description": "Valid, Planned, GangReleased, Running, Suspended, Restarting, Succeeded, Failed, NameConflict, WriteFailed, JudgeUnavailable (training.mode grpo, a judge InferenceDeployment missing, not serving or failing), Queued (Kueue admission).",
          "items": {
            "type": "object",
            "required": [
              "type",
              "status",
              "lastTransitionTime",
              "reason",
              "message"
            ],
            "properties": {
              "type": {
                "type": "string",
                "maxLength": 316,
                "description": "Condition type."
              },
              "status": {
                "type": "string",
                "enum": [
                  "True",
                  "False",
                  "Unknown"
                ],
                "description": "True, False or Unknown."
              },
              "observedGeneration": {
                "type": "integer",
                "minimum": 0,
                "description": "The generation the condition describes."
              },
              "lastTransitionTime": {
                "type": "string",
                "format": "date-time",
                "description": "When status last flipped."
              },
              "reason": {
                "type": "string",
                "maxLength": 1024,
                "description": "CamelCase reason."
              },
              "message": {
                "type": "string",
                "maxLength": 32768,
                "description": "What a person can act on."
              }
            }
          }
        },
        "plan": {
          "type": "object",
          "description": "Summary of the placement plan (the full plan is in the ConfigMap <job>-plan).",
          "properties": {
            "worldSize": {
              "type": "integer",
              "description": "Ranks (GPUs)."
            },
            "pods": {
              "type": "integer",
              "description": "Pods."
            },
            "placementScore": {
              "type": "number",
              "description": "Planner's placement score (1 = all traffic on the fastest level it can use)."
            },
            "configMap": {
              "type": "string",
              "description": "Name of the ConfigMap with the full plan."
            },
            "trafficByLevel": {
              "type": "array",
              "description": "Estimated bytes per step crossing each topology level.",
              "items": {
                "type": "object",
                "properties": {
                  "level": {
                    "type": "string",
                    "description": "Topology level name."
                  },
                  "bytesPerStep": {
                    "type": "number",
                    "description": "Bytes per optimizer step."
                  }
                }
              }
            }
          }
        },
        "stages": {
          "type": "array",
          "description": "Readiness per pipeline stage.",
          "items": {
            "type": "object",
            "properties": {
              "stage": {
                "type": "integer",
                "description": "Pipeline rank."
              },
              "pods": {
                "type": "integer",
                "description": "Pods holding ranks of this stage."
              },
              "ready": {
                "type": "integer",
                "description": "Of those, running and ready."
              }
            }
          }
        },
        "progress": {
          "type": "object",
          "description": "Latest progress reported by rank 0.",
          "properties": {
            "step": {
              "type": "integer",
              "description": "Optimizer steps done."
            },
            "tokens": {
              "type": "integer",
              "description": "Tokens consumed."
            },
            "loss": {
              "type": "number",
              "description": "Latest training loss."
            },
            "tokensPerSecond": {
              "type": "number",
              "description": "Throughput over the last report interval."
            },
            "heldOutLoss": {
              "type": "number",
              "description": "training.mode sft: mean cross-entropy over the assistant tokens of data.heldOutUri, as last measured (at the start and at the end of the run)."
            },
            "grpo": {
              "type": "object",
              "description": "training.mode grpo, the last step's rollouts.",
              "properties": {
                "rewardMean": {
                  "type": "number",
                  "description": "Mean reward of the step's samples."
                },
                "rewardStd": {
                  "type": "number",
                  "description": "Standard deviation of the step's rewards."
                },
                "kl": {
                  "type": "number",
                  "description": "Mean KL estimate (k3) per response token against the reference policy."
                },
                "responseLength": {
                  "type": "number",
                  "description": "Mean response length in tokens."
                },
                "signalFraction": {
                  "type": "number",
                  "description": "Fraction of groups whose rewards are not all equal (the groups that carry a gradient)."
                },
                "rewardErrors": {
                  "type": "integer",
                  "description": "Reward evaluations of the step that threw or timed out (each scored 0)."
                },
                "judgeFailures": {
                  "type": "integer",
                  "description": "Judge calls of the step that found the judge unavailable."
                },
                "judgeCalls": {
                  "type": "integer",
                  "description": "Judge calls of the step."
                },
                "judgeError": {
                  "type": "object",
                  "description": "The judge's URL and the last error, when judge calls failed.",
                  "properties": {
                    "url": {
                      "type": "string",
                      "description": "The judge's OpenAI-compatible endpoint that was called."
                    },
                    "error": {
                      "type": "string",
                      "description": "The last call's error (timeout, refused connection, HTTP status, unparsable score)."
                    }
                  }
                }
              }
            },
            "updateTime": {
              "type": "string",
              "format": "date-time",
              "description": "When the report arrived."
            }
          }
        },
        "checkpoints": {
          "type": "object",
          "description": "Checkpoints reported good by rank 0.",
          "properties": {
            "latest": {
              "type": "object",
              "description": "The one a restart resumes from.",
              "properties": {
                "step": {
                  "type": "integer",
                  "description": "Step the checkpoint holds."
                },
                "uri": {
                  "type": "string",
                  "description": "Where it lives."
                },
                "time": {
                  "type": "string",
                  "format": "date-time",
                  "description": "When it was reported."
                }
              }
            }
          }
        },
        "restarts": {
          "type": "integer",
          "description": "Gang restarts counted against failurePolicy.maxRestarts."
        },
        "attempt": {
          "type": "integer",
          "description": "Current gang attempt (MOE_RESTART); increments on every restart, counted or not."
        },
        "lastFailure": {
          "type": "object",
          "description": "The failure that caused the latest restart.",
          "properties": {
            "pod": {
              "type": "string",
              "description": "Failed pod."
            },
            "node": {
              "type": "string",
              "description": "Its node."
            },
            "reason": {
              "type": "string",
              "description": "Termination reason."
            },
            "exitCode": {
              "type": "integer",
              "description": "Exit code of the trainer container."
            },
            "time": {
              "type": "string",
              "format": "date-time",
              "description": "When it was seen."
            }
          }
        },
        "restartAfter": {
          "type": "string",
          "format": "date-time",
          "description": "Earliest time of the pending gang restart (backoff)."
        },
        "excludedNodes": {
          "type": "array",
          "items": {
            "type": "string"
          },
          "description": "Nodes avoided on re-placement because a rank failed there."
        },
        "startTime": {
          "type": "string",
          "format": "date-time",
          "description": "When the current gang was released."
        },
        "completionTime": {
          "type": "string",
          "format": "date-time",
          "description": "When the job succeeded or failed."
        }
      }
    }
  }
};
