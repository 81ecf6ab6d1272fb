{{/*
Names are derived from a values map and the release only (never from .Chart),
so that "drawbridge.sidecar", included from an application's chart where
.Chart is that chart, points at the same Secret and ConfigMap this chart
renders. Helpers that take (dict "Values" v "Release" r) work in both places.
*/}}

{{- define "drawbridge.name" -}}
{{- default "drawbridge" .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "drawbridge.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default "drawbridge" .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "drawbridge.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "drawbridge.selectorLabels" -}}
app.kubernetes.io/name: {{ include "drawbridge.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "drawbridge.labels" -}}
helm.sh/chart: {{ include "drawbridge.chart" . }}
{{ include "drawbridge.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* The chart's own Secret: rendered when it has at least one key to hold. */}}
{{- define "drawbridge.ownSecret" -}}
{{- if or (not .Values.auth.existingSecret) .Values.redis.url .Values.state.url .Values.database.url .Values.configInSecret -}}
true
{{- end -}}
{{- end -}}

{{/* Takes (dict "Values" v "Release" r), like the names above. */}}
{{- define "drawbridge.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "drawbridge.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
Labels of the application's pods in sidecar mode (sidecar.podSelector), each
value rendered with tpl so it may name the release. Takes the chart's root context.
*/}}
{{- define "drawbridge.podSelector" -}}
{{- $labels := dict -}}
{{- range $k, $v := .Values.sidecar.podSelector -}}
{{- $_ := set $labels $k (tpl $v $) -}}
{{- end -}}
{{- toYaml $labels -}}
{{- end -}}

{{- define "drawbridge.authSecretName" -}}
{{- default (include "drawbridge.fullname" .) .Values.auth.existingSecret -}}
{{- end -}}

{{- define "drawbridge.redisSecretName" -}}
{{- if .Values.redis.existingSecret -}}{{ .Values.redis.existingSecret }}{{- else -}}{{ include "drawbridge.fullname" . }}{{- end -}}
{{- end -}}

{{- define "drawbridge.redisSecretKey" -}}
{{- if .Values.redis.existingSecret -}}{{ .Values.redis.existingSecretKey }}{{- else -}}redis-url{{- end -}}
{{- end -}}

{{- define "drawbridge.stateSecretName" -}}
{{- if .Values.state.existingSecret -}}{{ .Values.state.existingSecret }}{{- else -}}{{ include "drawbridge.fullname" . }}{{- end -}}
{{- end -}}

{{- define "drawbridge.stateSecretKey" -}}
{{- if .Values.state.existingSecret -}}{{ .Values.state.existingSecretKey }}{{- else -}}state-url{{- end -}}
{{- end -}}

{{/* "redis", "postgres", or empty for the embedded store. Takes (dict "Values" v). */}}
{{- define "drawbridge.sharedStore" -}}
{{- if or .Values.redis.url .Values.redis.existingSecret -}}redis
{{- else if or .Values.state.url .Values.state.existingSecret -}}postgres
{{- end -}}
{{- end -}}

{{- define "drawbridge.databaseSecretName" -}}
{{- if .Values.database.existingSecret -}}{{ .Values.database.existingSecret }}{{- else -}}{{ include "drawbridge.fullname" . }}{{- end -}}
{{- end -}}

{{- define "drawbridge.databaseSecretKey" -}}
{{- if .Values.database.existingSecret -}}{{ .Values.database.existingSecretKey }}{{- else -}}database-url{{- end -}}
{{- end -}}

{{/*
Checks that stop rendering with a message naming the value to set. Kept in one
place so both modes (and the sidecar include) enforce the same rules.
*/}}
{{- define "drawbridge.validate" -}}
{{- if and (eq .Values.mode "standalone") (not .Values.upstream) -}}
{{- fail "drawbridge: upstream is required in standalone mode, e.g. --set upstream=http://my-app.my-namespace.svc.cluster.local:80" -}}
{{- end -}}
{{- if and (not .Values.auth.adminToken) (not .Values.auth.existingSecret) -}}
{{- fail "drawbridge: set auth.adminToken (16+ characters) or auth.existingSecret: the admin port listens on the pod network, and Drawbridge refuses to expose it without a token" -}}
{{- end -}}
{{- if and (eq .Values.mode "standalone") (or (gt (int .Values.replicaCount) 1) .Values.autoscaling.enabled) (not (include "drawbridge.sharedStore" .)) -}}
{{- fail "drawbridge: redis.url (or redis.existingSecret) is required when replicaCount > 1 or autoscaling is enabled, or state.url (or state.existingSecret) for PostgreSQL: replicas share the maintenance state through it, and without it each replica would have its own" -}}
{{- end -}}
{{- if and (or .Values.redis.url .Values.redis.existingSecret) (or .Values.state.url .Values.state.existingSecret) -}}
{{- fail "drawbridge: set redis.* or state.* (PostgreSQL), not both: the shared state lives in one store" -}}
{{- end -}}
{{- if and (eq .Values.mode "sidecar") .Values.serviceMonitor.enabled (not .Values.sidecar.podSelector) -}}
{{- fail "drawbridge: serviceMonitor.enabled in sidecar mode renders a PodMonitor for the application's pods: set sidecar.podSelector to their labels, e.g. --set sidecar.podSelector.app=my-app" -}}
{{- end -}}
{{- end -}}

{{/*
preStop sleep + drain + extra. A native sidecar only gets its SIGTERM (and
runs its own preStop sleep) once the app containers have exited after their
preStop sleep (drawbridge.appPreStopSleepSeconds), so its sleep comes on top.
*/}}
{{- define "drawbridge.terminationGracePeriodSeconds" -}}
{{- $native := and (eq .Values.mode "sidecar") .Values.sidecar.native -}}
{{- add (int .Values.shutdown.preStopSleepSeconds) (int .Values.shutdown.drainTimeoutSeconds) (int .Values.shutdown.extraGraceSeconds) (ternary (int .Values.shutdown.preStopSleepSeconds) 0 $native) -}}
{{- end -}}

{{/*
The preStop sleep for the application container beside the sidecar: both get
SIGTERM together, so the app must outlive Drawbridge's preStop sleep and drain.
Takes (dict "Values" v).
*/}}
{{- define "drawbridge.appPreStopSleepSeconds" -}}
{{- add (int .Values.shutdown.preStopSleepSeconds) (int .Values.shutdown.drainTimeoutSeconds) -}}
{{- end -}}

{{/*
The Drawbridge container, shared by the standalone Deployment and the sidecar
include. Takes (dict "Values" v "Release" r "upstream" url).
*/}}
{{- define "drawbridge.container" -}}
- name: drawbridge
  image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  {{- if .native }}
  # A native sidecar: an init container that keeps running beside the app.
  restartPolicy: Always
  {{- end }}
  args: ["serve"]
  ports:
    - name: http
      containerPort: {{ .Values.ports.gateway }}
      protocol: TCP
    - name: admin
      containerPort: {{ .Values.ports.admin }}
      protocol: TCP
  env:
    - name: DRAWBRIDGE_UPSTREAM
      value: {{ .upstream | quote }}
    - name: DRAWBRIDGE_LISTEN
      value: "0.0.0.0:{{ .Values.ports.gateway }}"
    - name: DRAWBRIDGE_ADMIN_LISTEN
      value: "0.0.0.0:{{ .Values.ports.admin }}"
    - name: DRAWBRIDGE_CONFIG
      value: /etc/drawbridge/drawbridge.yaml
    - name: DRAWBRIDGE_DRAIN_TIMEOUT_MS
      value: {{ mul (int .Values.shutdown.drainTimeoutSeconds) 1000 | quote }}
    - name: DRAWBRIDGE_LOG_LEVEL
      value: {{ .Values.logLevel | quote }}
    - name: DRAWBRIDGE_ADMIN_TOKEN
      valueFrom:
        secretKeyRef:
          name: {{ include "drawbridge.authSecretName" . }}
          key: admin-token
    {{- if or .Values.auth.readToken .Values.auth.existingSecret }}
    - name: DRAWBRIDGE_READ_TOKEN
      valueFrom:
        secretKeyRef:
          name: {{ include "drawbridge.authSecretName" . }}
          key: read-token
          optional: true
    {{- end }}
    {{- $store := include "drawbridge.sharedStore" . }}
    {{- if eq $store "redis" }}
    - name: DRAWBRIDGE_REDIS_URL
      valueFrom:
        secretKeyRef:
          name: {{ include "drawbridge.redisSecretName" . }}
          key: {{ include "drawbridge.redisSecretKey" . }}
    {{- if .Values.redisTls.existingSecret }}
    - name: DRAWBRIDGE_REDIS_CA_FILE
      value: /etc/drawbridge/redis-tls/ca.crt
    {{- if .Values.redisTls.clientCertificate }}
    - name: DRAWBRIDGE_REDIS_CERT_FILE
      value: /etc/drawbridge/redis-tls/tls.crt
    - name: DRAWBRIDGE_REDIS_KEY_FILE
      value: /etc/drawbridge/redis-tls/tls.key
    {{- end }}
    {{- end }}
    {{- else if eq $store "postgres" }}
    - name: DRAWBRIDGE_STATE_URL
      valueFrom:
        secretKeyRef:
          name: {{ include "drawbridge.stateSecretName" . }}
          key: {{ include "drawbridge.stateSecretKey" . }}
    - name: DRAWBRIDGE_STATE_SCHEMA
      value: {{ .Values.state.schema | quote }}
    {{- else }}
    # No Redis: the embedded store, kept in the pod's emptyDir so a container
    # restart keeps the maintenance state (a new pod starts fresh).
    - name: DRAWBRIDGE_STATE_FILE
      value: /var/lib/drawbridge/state.json
    {{- end }}
    {{- if and $store .Values.stateCache.enabled }}
    # The last applied state, served by a container restarted while the store is unreachable.
    - name: DRAWBRIDGE_STATE_CACHE
      value: /var/cache/drawbridge/state.json
    {{- end }}
    {{- if or .Values.database.url .Values.database.existingSecret }}
    - name: DRAWBRIDGE_DATABASE_URL
      valueFrom:
        secretKeyRef:
          name: {{ include "drawbridge.databaseSecretName" . }}
          key: {{ include "drawbridge.databaseSecretKey" . }}
    {{- end }}
    {{- if .Values.maintenancePage }}
    - name: DRAWBRIDGE_PAGE
      value: /etc/drawbridge/maintenance.html
    {{- end }}
    {{- if .Values.publicUrl }}
    - name: DRAWBRIDGE_PUBLIC_URL
      value: {{ .Values.publicUrl | quote }}
    {{- end }}
    {{- if .Values.trustedProxies }}
    - name: DRAWBRIDGE_TRUSTED_PROXIES
      value: {{ join "," .Values.trustedProxies | quote }}
    {{- end }}
    {{- with .Values.extraEnv }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  # Startup waits for a state (from the store, or from the state cache when a
  # container restarts while the store is unreachable), so a new pod never
  # serves before it knows whether maintenance is on. Readiness then follows readinessProbe.path:
  # /healthz keeps a pod that lost Redis in service with the state it holds
  # (its /readyz turns 503 so monitoring sees it); /readyz takes it out instead.
  startupProbe:
    httpGet:
      path: /readyz?exclude=store
      port: admin
    {{- toYaml .Values.startupProbe | nindent 4 }}
  livenessProbe:
    httpGet:
      path: /healthz
      port: admin
    {{- toYaml .Values.livenessProbe | nindent 4 }}
  readinessProbe:
    httpGet:
      path: {{ .Values.readinessProbe.path }}
      port: admin
    {{- toYaml (omit .Values.readinessProbe "path") | nindent 4 }}
  lifecycle:
    preStop:
      exec:
        command: ["sleep", "{{ .Values.shutdown.preStopSleepSeconds }}"]
  {{- with .Values.resources }}
  resources:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.securityContext }}
  securityContext:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  volumeMounts:
    - name: drawbridge-config
      mountPath: /etc/drawbridge
      readOnly: true
    - name: drawbridge-data
      mountPath: /var/lib/drawbridge
    - name: drawbridge-tmp
      mountPath: /tmp
    {{- if and (include "drawbridge.sharedStore" .) .Values.stateCache.enabled }}
    - name: drawbridge-cache
      mountPath: /var/cache/drawbridge
    {{- end }}
    {{- if and (eq (include "drawbridge.sharedStore" .) "redis") .Values.redisTls.existingSecret }}
    - name: drawbridge-redis-tls
      mountPath: /etc/drawbridge/redis-tls
      readOnly: true
    {{- end }}
    {{- if .Values.migrations.configMap }}
    - name: drawbridge-migrations
      mountPath: /app/migrations
      readOnly: true
    {{- end }}
{{- end -}}

{{/* Pod volumes the container mounts. Takes (dict "Values" v "Release" r). */}}
{{- define "drawbridge.volumes" -}}
- name: drawbridge-config
  projected:
    sources:
      - configMap:
          name: {{ include "drawbridge.fullname" . }}
      {{- if .Values.configInSecret }}
      - secret:
          name: {{ include "drawbridge.fullname" . }}
          items:
            - key: drawbridge.yaml
              path: drawbridge.yaml
      {{- end }}
- name: drawbridge-data
  emptyDir: {}
- name: drawbridge-tmp
  emptyDir: {}
{{- if and (include "drawbridge.sharedStore" .) .Values.stateCache.enabled }}
- name: drawbridge-cache
  emptyDir:
    {{- with .Values.stateCache.sizeLimit }}
    sizeLimit: {{ . }}
    {{- end }}
{{- end }}
{{- if and (eq (include "drawbridge.sharedStore" .) "redis") .Values.redisTls.existingSecret }}
- name: drawbridge-redis-tls
  secret:
    secretName: {{ .Values.redisTls.existingSecret }}
    # 0400 (octal) in decimal: YAML 1.2 parsers read a leading zero as decimal
    defaultMode: 256
{{- end }}
{{- if .Values.migrations.configMap }}
- name: drawbridge-migrations
  configMap:
    name: {{ .Values.migrations.configMap }}
{{- end }}
{{- end -}}

{{/*
For other charts: the Drawbridge container to put beside an application
container in the same pod, proxying to http://127.0.0.1:<appPort>. Add this
chart as a dependency (mode: sidecar), then in the pod spec:

  serviceAccountName: {{ include "drawbridge.serviceAccountName" (dict "Values" .Values.drawbridge "Release" .Release) }}
  automountServiceAccountToken: false
  {{- with include "drawbridge.sidecarInitContainers" (dict "root" $ "values" .Values.drawbridge "appPort" 3000) }}
  initContainers:
    {{- . | nindent 4 }}
  {{- end }}
  containers:
    - name: app
      ...
    {{- include "drawbridge.sidecar" (dict "root" $ "values" .Values.drawbridge "appPort" 3000) | nindent 4 }}
  volumes:
    {{- include "drawbridge.sidecarVolumes" (dict "root" $ "values" .Values.drawbridge) | nindent 4 }}

and point the pod's Service at the container port named "http" (the gateway).
appPort defaults to values.sidecar.appPort. Pass "replicas" (the pod's replica
count) to have the chart insist on a shared store (Redis or PostgreSQL) when there is more than one.
With sidecar.native the container comes from "drawbridge.sidecarInitContainers"
and "drawbridge.sidecar" renders nothing; without it, the reverse. Include both,
and the values alone choose.
*/}}
{{- define "drawbridge.sidecarContainer" -}}
{{- $ctx := dict "Values" .values "Release" .root.Release -}}
{{- include "drawbridge.validate" $ctx -}}
{{- if and (gt (int (default 1 .replicas)) 1) (not (include "drawbridge.sharedStore" $ctx)) -}}
{{- fail "drawbridge: redis.url (or redis.existingSecret) is required when the pod has more than one replica, or state.url (or state.existingSecret) for PostgreSQL: replicas share the maintenance state through it" -}}
{{- end -}}
{{- $appPort := default .values.sidecar.appPort .appPort -}}
{{- include "drawbridge.container" (merge (dict "upstream" (printf "http://127.0.0.1:%v" $appPort) "native" .values.sidecar.native) $ctx) -}}
{{- end -}}

{{- define "drawbridge.sidecar" -}}
{{- if not .values.sidecar.native -}}
{{- include "drawbridge.sidecarContainer" . -}}
{{- end -}}
{{- end -}}

{{- define "drawbridge.sidecarInitContainers" -}}
{{- if .values.sidecar.native -}}
{{- if not (semverCompare ">=1.29.0-0" .root.Capabilities.KubeVersion.Version) -}}
{{- fail (printf "drawbridge: sidecar.native needs Kubernetes >= 1.29 (init containers with restartPolicy: Always), this cluster is %s; unset it, or pass --kube-version to helm template" .root.Capabilities.KubeVersion.Version) -}}
{{- end -}}
{{- include "drawbridge.sidecarContainer" . -}}
{{- end -}}
{{- end -}}

{{- define "drawbridge.sidecarVolumes" -}}
{{- include "drawbridge.volumes" (dict "Values" .values "Release" .root.Release) -}}
{{- end -}}
