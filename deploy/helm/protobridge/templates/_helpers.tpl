{{/* The chart's name, and the release's full name (63 characters at most). */}}
{{- define "protobridge.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "protobridge.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "protobridge.selectorLabels" -}}
app.kubernetes.io/name: {{ include "protobridge.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "protobridge.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "protobridge.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "protobridge.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "protobridge.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The admin token's Secret: the one referenced, else the chart's own. */}}
{{- define "protobridge.adminSecret" -}}
{{- default (printf "%s-admin" (include "protobridge.fullname" .)) .Values.adminToken.existingSecret -}}
{{- end -}}

{{/* protobridge.yaml: config, with state pointed at the chart's Redis
     when it runs one and config does not set state itself. */}}
{{- define "protobridge.config" -}}
{{- $cfg := deepCopy .Values.config -}}
{{- if and .Values.redis.enabled (not (hasKey $cfg "state")) -}}
{{- $_ := set $cfg "state" (dict "backend" "redis" "address" (printf "%s-redis:6379" .Release.Name)) -}}
{{- end -}}
{{ toYaml $cfg }}
{{- end -}}

{{/* A ConfigMap key for a proto path (keys cannot hold "/"). */}}
{{- define "protobridge.protoKey" -}}
{{- printf "proto_%s" (. | replace "/" "__") -}}
{{- end -}}

{{/* The port of a listen address in config ("0.0.0.0:9090" → 9090), or
     "" when the address is not set. */}}
{{- define "protobridge.port" -}}
{{- if . -}}{{- last (splitList ":" .) -}}{{- end -}}
{{- end -}}
