{{/* Names and labels shared by every object of the chart. */}}
{{- define "edh.fullname" -}}
{{- printf "%s-edh" .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}

{{- define "edh.labels" -}}
app.kubernetes.io/name: edh
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "edh.selector" -}}
app.kubernetes.io/name: edh
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "edh.hubImage" -}}
{{- $img := .Values.image.hub -}}
{{- if $img.digest -}}
{{ $img.repository }}@{{ $img.digest }}
{{- else -}}
{{ $img.repository }}:{{ required "image.hub.tag is required" $img.tag }}
{{- end -}}
{{- end -}}

{{/* The hub's settings (EDH_*), shared by the API pods, the migration job and the workers. */}}
{{- define "edh.env" -}}
- {name: EDH_PUBLIC_URL, value: {{ required "publicUrl is required" .Values.publicUrl | quote }}}
- {name: EDH_LOG_LEVEL, value: {{ .Values.logLevel | quote }}}
- name: EDH_DATABASE__URL
  valueFrom: {secretKeyRef: {name: {{ required "database.existingSecret is required" .Values.database.existingSecret }}, key: url}}
- {name: EDH_DATABASE__POOL_SIZE, value: {{ .Values.database.poolSize | quote }}}
- {name: EDH_PSEUDONYM__CUSTODY, value: remote}
- {name: EDH_PSEUDONYM__SERVICE__URL, value: {{ printf "http://%s-pseudonym:%v" (include "edh.fullname" .) .Values.pseudonym.port | quote }}}
- name: EDH_PSEUDONYM__SERVICE__TOKEN
  valueFrom: {secretKeyRef: {name: {{ required "keysSecret is required" .Values.keysSecret }}, key: pseudonym-service-token}}
- name: EDH_HUB_SECRET
  valueFrom: {secretKeyRef: {name: {{ required "keysSecret is required" .Values.keysSecret }}, key: hub-secret}}
- {name: EDH_AUTH__SIGNING_KEY_FILE, value: /run/secrets/edh/hub-signing-key.pem}
- {name: EDH_AUTH__ISSUER, value: {{ required "auth.issuer is required" .Values.auth.issuer | quote }}}
- {name: EDH_AUTH__AUDIENCE, value: {{ .Values.auth.audience | quote }}}
- {name: EDH_AUTH__JWKS_URL, value: {{ required "auth.jwksUrl is required" .Values.auth.jwksUrl | quote }}}
- {name: EDH_AUDIT__KEY_FILE, value: /run/secrets/edh/audit-signing-key.pem}
- {name: EDH_AUDIT__RETENTION_DAYS, value: {{ .Values.audit.retentionDays | quote }}}
- {name: EDH_AUDIT__PUBLISH_TO, value: object-store}
- {name: EDH_AUDIT__WITNESS_BUCKET, value: {{ .Values.audit.witnessBucket | quote }}}
- {name: EDH_CONTRACTS__HUB_KEY_FILE, value: /run/secrets/edh/contract-signing-key.pem}
- {name: EDH_BUS__KIND, value: kafka}
- {name: EDH_BUS__BOOTSTRAP_SERVERS, value: {{ required "kafka.bootstrapServers is required" .Values.kafka.bootstrapServers | quote }}}
- {name: EDH_STORAGE__KIND, value: s3}
- {name: EDH_STORAGE__ENDPOINT, value: {{ required "objectStore.endpoint is required" .Values.objectStore.endpoint | quote }}}
- {name: EDH_STORAGE__SECURE, value: {{ .Values.objectStore.secure | quote }}}
- {name: EDH_STORAGE__BUCKET, value: {{ .Values.objectStore.bucket | quote }}}
- {name: EDH_STORAGE__REGION, value: {{ .Values.objectStore.region | quote }}}
{{- end -}}

{{- define "edh.s3Credentials" -}}
- name: EDH_STORAGE__ACCESS_KEY
  valueFrom: {secretKeyRef: {name: {{ . }}, key: access-key}}
- name: EDH_STORAGE__SECRET_KEY
  valueFrom: {secretKeyRef: {name: {{ . }}, key: secret-key}}
{{- end -}}

{{/* The erasure identity (the only one that may delete object versions), hub only. */}}
{{- define "edh.s3ErasureCredentials" -}}
- name: EDH_STORAGE__ERASURE_ACCESS_KEY
  valueFrom: {secretKeyRef: {name: {{ . }}, key: access-key}}
- name: EDH_STORAGE__ERASURE_SECRET_KEY
  valueFrom: {secretKeyRef: {name: {{ . }}, key: secret-key}}
{{- end -}}

{{- define "edh.extraEnv" -}}
{{- range $name, $value := . -}}
- {name: {{ $name }}, value: {{ $value | quote }}}
{{ end -}}
{{- end -}}

{{- define "edh.keysVolume" -}}
- name: keys
  secret:
    secretName: {{ .Values.keysSecret }}
    defaultMode: 0440
    items:
      - {key: hub-signing-key.pem, path: hub-signing-key.pem}
      - {key: audit-signing-key.pem, path: audit-signing-key.pem}
      - {key: contract-signing-key.pem, path: contract-signing-key.pem}
{{- end -}}
