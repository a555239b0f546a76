{{- define "loupe.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "loupe.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
"<fullname>-<suffix>", at most 63 characters (a DNS label: the API server refuses longer
Service names, and label values carry these names). The fullname is cut, never the suffix,
so "-model-server" and "-model-store" stay distinct after truncation. (list $ "suffix"), or
(list $ "suffix" 52) for a StatefulSet: its pods get a controller-revision-hash label of
"<name>-<10-character hash>", which must fit in 63 too.
*/}}
{{- define "loupe.suffixedName" -}}
{{- $max := 63 }}
{{- if gt (len .) 2 }}{{ $max = index . 2 }}{{ end }}
{{- $suffix := index . 1 }}
{{- $base := include "loupe.fullname" (index . 0) | trunc (int (sub (sub $max 1) (len $suffix))) | trimSuffix "-" }}
{{- printf "%s-%s" $base $suffix }}
{{- end }}

{{- define "loupe.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "loupe.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Selector labels of one component: (dict "ctx" $ "component" "gateway") */}}
{{- define "loupe.selectorLabels" -}}
app.kubernetes.io/name: {{ include "loupe.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "loupe.componentLabels" -}}
{{ include "loupe.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "loupe.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{- define "loupe.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "loupe.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "loupe.databaseSecret" -}}
{{- if .Values.postgresql.enabled }}
{{- include "loupe.suffixedName" (list . "postgresql" 52) }}
{{- else if .Values.database.url }}
{{- include "loupe.suffixedName" (list . "database") }}
{{- else }}
{{- .Values.database.existingSecret }}
{{- end }}
{{- end }}

{{- define "loupe.apiKeysSecret" -}}
{{- if .Values.apiKeys.existingSecret }}{{ .Values.apiKeys.existingSecret }}{{ else if .Values.apiKeys.keys }}{{ include "loupe.suffixedName" (list . "api-keys") }}{{ end }}
{{- end }}

{{- define "loupe.webhookSecret" -}}
{{- if .Values.webhook.existingSecret }}{{ .Values.webhook.existingSecret }}{{ else if .Values.webhook.secret }}{{ include "loupe.suffixedName" (list . "webhook") }}{{ end }}
{{- end }}

{{/* Pod-level settings every Loupe pod shares. */}}
{{- define "loupe.podCommon" -}}
automountServiceAccountToken: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* The database URL (and, in-chart, the password file) from Secrets. */}}
{{- define "loupe.databaseEnv" -}}
- name: LOUPE_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "loupe.databaseSecret" . }}
      key: {{ if .Values.postgresql.enabled }}url{{ else }}{{ .Values.database.urlKey }}{{ end }}
{{- end }}

{{/* Environment variables from a map, values quoted. */}}
{{- define "loupe.envMap" -}}
{{- range $k, $v := . }}
- name: {{ $k }}
  value: {{ $v | toString | quote }}
{{- end }}
{{- end }}

{{- define "loupe.queueDepthMetric" -}}
{{- if .queueDepthTarget }}
- type: Pods
  pods:
    metric:
      name: loupe_queue_depth
    target:
      type: AverageValue
      averageValue: {{ .queueDepthTarget | toString | quote }}
{{- end }}
{{- end }}

{{/*
A role's image: its own repository/tag/digest where set (e.g. the GPU image for model servers),
else the chart's. (dict "ctx" $ "role" .Values.modelServer)
*/}}
{{- define "loupe.roleImage" -}}
{{- $own := .role.image | default dict }}
{{- /* Another repository inherits neither the chart's tag nor its digest: they name another image. */}}
{{- $base := ternary (dict) .ctx.Values.image (not (empty $own.repository)) }}
{{- $repo := $own.repository | default .ctx.Values.image.repository }}
{{- $digest := $own.digest | default $base.digest }}
{{- if $digest }}
{{- printf "%s@%s" $repo $digest }}
{{- else }}
{{- printf "%s:%s" $repo ($own.tag | default $base.tag | default .ctx.Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/*
Where and how a role's pods are scheduled: node selection, GPU runtime class, priority and the
zone/node spread. A spread constraint without a labelSelector gets the role's own selector, so
`topologySpreadConstraints: [{maxSkew: 1, topologyKey: topology.kubernetes.io/zone,
whenUnsatisfiable: ScheduleAnyway}]` is enough. (dict "ctx" $ "role" .Values.gateway "component" "gateway")
*/}}
{{- define "loupe.podScheduling" -}}
{{- $r := .role }}
{{- with $r.runtimeClassName }}
runtimeClassName: {{ . }}
{{- end }}
{{- with $r.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with $r.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $r.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $r.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if $r.topologySpreadConstraints }}
topologySpreadConstraints:
{{- range $r.topologySpreadConstraints }}
{{- $tsc := deepCopy . }}
{{- if not $tsc.labelSelector }}
{{- $_ := set $tsc "labelSelector" (dict "matchLabels" (include "loupe.selectorLabels" (dict "ctx" $.ctx "component" $.component) | fromYaml)) }}
{{- end }}
  - {{- toYaml $tsc | nindent 4 }}
{{- end }}
{{- end }}
{{- end }}

{{/* prometheus-adapter rule: loupe_queue_depth per pod, as the HPA's Pods metric of that name. */}}
{{- define "loupe.adapterRules" -}}
- seriesQuery: 'loupe_queue_depth{namespace!="",pod!=""}'
  resources:
    overrides:
      namespace: { resource: namespace }
      pod: { resource: pod }
  name:
    matches: ^loupe_queue_depth$
    as: loupe_queue_depth
  # A pod serves several models and versions: the HPA scales on all requests waiting in it.
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
{{- end }}

{{/*
OpenTelemetry's standard variables when tracing.enabled, for the gateway, model-server and worker
containers (the migration Job serves no request worth a trace). Set on the container, they win
over OTEL_* in config.env. The export headers often hold a token: from a Secret, never the
ConfigMap. k8s.pod.name tells the replicas of a role apart in a trace.
*/}}
{{- define "loupe.tracingEnv" -}}
{{- $t := .Values.tracing }}
{{- if $t.enabled }}
- name: OTEL_TRACES_EXPORTER
  value: otlp
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ required "tracing.endpoint is required with tracing.enabled (the OTLP/HTTP receiver, e.g. http://otel-collector.observability:4318)" $t.endpoint | quote }}
- name: OTEL_TRACES_SAMPLER
  value: {{ $t.sampler | quote }}
{{- if ne (toString $t.samplerArg) "" }}
- name: OTEL_TRACES_SAMPLER_ARG
  value: {{ $t.samplerArg | toString | quote }}
{{- end }}
{{- with $t.headersSecret }}
{{- if .name }}
- name: OTEL_EXPORTER_OTLP_HEADERS
  valueFrom:
    secretKeyRef: { name: {{ .name }}, key: {{ .key | default "headers" }} }
{{- end }}
{{- end }}
- name: K8S_POD_NAME
  valueFrom:
    fieldRef: { fieldPath: metadata.name }
{{- $attrs := list (printf "k8s.namespace.name=%s" .Release.Namespace) "k8s.pod.name=$(K8S_POD_NAME)" }}
{{- range $k, $v := $t.resourceAttributes }}
{{- $attrs = append $attrs (printf "%s=%v" $k $v) }}
{{- end }}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ join "," $attrs | quote }}
{{- end }}
{{- end }}
