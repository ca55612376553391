{{/*
Names and labels.
*/}}
{{- define "podium.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "podium.fullname" -}}
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

{{- define "podium.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "podium.selectorLabels" -}}
app.kubernetes.io/name: {{ include "podium.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "podium.labels" -}}
helm.sh/chart: {{ include "podium.chart" . }}
{{ include "podium.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: podium
{{- end }}

{{- define "podium.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "podium.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "podium.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/*
Refuse setups that would silently misbehave: several pods on per-pod SQLite files or per-pod
artifact directories would each be a separate registry.
*/}}
{{- define "podium.validate" -}}
{{- $pods := .Values.autoscaling.enabled | ternary 2 (int .Values.replicaCount) }}
{{- if and (gt $pods 1) (not .Values.database.existingSecret) }}
{{- fail "More than one pod needs a shared database: set database.existingSecret (PostgreSQL or MySQL URL), or replicaCount: 1." }}
{{- end }}
{{- if and (gt $pods 1) (not .Values.artifacts.destination) }}
{{- fail "More than one pod needs shared artifact storage: set artifacts.destination (s3://bucket/prefix), or replicaCount: 1." }}
{{- end }}
{{- range $key, $value := .Values.settings }}
{{- if has $key (list "host" "port" "backend_store_uri" "artifacts_destination" "config") }}
{{- fail (printf "settings.%s is set by the chart: use containerPort, database.existingSecret or artifacts.destination." $key) }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The database URL (server and migration Job).
*/}}
{{- define "podium.databaseEnv" -}}
{{- if .Values.database.existingSecret }}
- name: PODIUM_BACKEND_STORE_URI
  valueFrom:
    secretKeyRef:
      name: {{ .Values.database.existingSecret }}
      key: {{ .Values.database.uriKey }}
{{- else }}
- name: PODIUM_BACKEND_STORE_URI
  value: sqlite:////var/lib/podium/podium.db
{{- end }}
{{- end }}

{{/*
Where artifacts go, and S3 access (server only).
*/}}
{{- define "podium.artifactsEnv" -}}
- name: PODIUM_ARTIFACTS_DESTINATION
  value: {{ default "/var/lib/podium/artifacts" .Values.artifacts.destination | quote }}
{{- with .Values.artifacts.s3 }}
{{- if .endpointUrl }}
- name: PODIUM_S3_ENDPOINT_URL
  value: {{ .endpointUrl | quote }}
{{- end }}
{{- if .region }}
- name: AWS_DEFAULT_REGION
  value: {{ .region | quote }}
{{- end }}
{{- if .existingSecret }}
- name: AWS_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ .existingSecret }}
      key: {{ .accessKeyIdKey }}
- name: AWS_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .existingSecret }}
      key: {{ .secretAccessKeyKey }}
{{- end }}
{{- end }}
{{- end }}
