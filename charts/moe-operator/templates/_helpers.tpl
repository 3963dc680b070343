{{- define "moe-operator.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "moe-operator.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "moe-operator.labels" -}}
app.kubernetes.io/name: {{ include "moe-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "moe-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "moe-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "moe-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "moe-operator.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The namespaces the operator watches, comma-separated (watchNamespaces plus the older watchNamespace); empty: all. */}}
{{- define "moe-operator.watchNamespaces" -}}
{{- concat (.Values.watchNamespaces | default list) (list (.Values.watchNamespace | default "")) | compact | uniq | join "," -}}
{{- end -}}

{{/* What the operator does inside a namespace it serves: a ClusterRole's rules (all namespaces) or a Role's (one). */}}
{{- define "moe-operator.namespacedRules" -}}
- apiGroups: [moe.io]
  resources: [moetrainingjobs]
  verbs: [get, list, watch, patch, update]
- apiGroups: [moe.io]
  resources: [moetrainingjobs/status]
  verbs: [get, patch, update]
# Owner references with blockOwnerDeletion need update on the owner's finalizers subresource.
- apiGroups: [moe.io]
  resources: [moetrainingjobs/finalizers]
  verbs: [update]
# InferenceDeployment: status and children; InferenceRoles are created, scaled (propagation) and given status.
- apiGroups: [moe.io]
  resources: [inferencedeployments]
  verbs: [get, list, watch, patch, update]
- apiGroups: [moe.io]
  resources: [inferencedeployments/status]
  verbs: [get, patch, update]
- apiGroups: [moe.io]
  resources: [inferencedeployments/finalizers]
  verbs: [update]
- apiGroups: [moe.io]
  resources: [inferenceroles]
  verbs: [get, list, watch, create, patch, update, delete]
- apiGroups: [moe.io]
  resources: [inferenceroles/status]
  verbs: [get, patch, update]
# MoEEvaluation: status, and its children (ConfigMaps, the pod, the pod's Role that patches only its report).
- apiGroups: [moe.io]
  resources: [moeevaluations]
  verbs: [get, list, watch]
- apiGroups: [moe.io]
  resources: [moeevaluations/status]
  verbs: [get, patch, update]
- apiGroups: [moe.io]
  resources: [moeevaluations/finalizers]
  verbs: [update]
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list, watch, create, patch, delete]
# configmaps: the plan and the report, routing/placement/expert-load; the operator also needs get/patch here to grant
# them to rank 0's and the serving pods' Roles.
- apiGroups: [""]
  resources: [configmaps, services, serviceaccounts]
  verbs: [get, list, watch, create, patch, update, delete]
- apiGroups: [""]
  resources: [events]
  verbs: [create, patch]
- apiGroups: [rbac.authorization.k8s.io]
  resources: [roles, rolebindings]
  verbs: [get, list, watch, create, patch, update, delete]
{{- end -}}
