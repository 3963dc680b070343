{{- /* Who holds the cluster-scoped ClusterTopology "default": "" when it does not exist (or under `helm template`,
which cannot look up), "<release> in namespace <ns>" for a Helm release, "something other than Helm" otherwise. */}}
{{- define "moe-operator.defaultTopologyHolder" -}}
{{- $t := lookup "moe.io/v1alpha1" "ClusterTopology" "" "default" -}}
{{- if $t -}}
{{- $rel := dig "metadata" "annotations" "meta.helm.sh/release-name" "" $t -}}
{{- $ns := dig "metadata" "annotations" "meta.helm.sh/release-namespace" "" $t -}}
{{- if $rel -}}release {{ $rel }} in namespace {{ $ns }}{{- else -}}something other than Helm{{- end -}}
{{- end -}}
{{- end -}}

{{- /* "true" when this release installs (or already owns) the ClusterTopology "default". */}}
{{- define "moe-operator.ownsDefaultTopology" -}}
{{- $holder := include "moe-operator.defaultTopologyHolder" . -}}
{{- if or (not $holder) (eq $holder (printf "release %s in namespace %s" .Release.Name .Release.Namespace)) -}}true{{- end -}}
{{- end -}}
