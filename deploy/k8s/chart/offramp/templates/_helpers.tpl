{{/* Labels of one component: offramp.labels (dict "name" <component> "root" $) */}}
{{- define "offramp.labels" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/part-of: offramp
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{/* The selector of one component: the labels that never change between releases. */}}
{{- define "offramp.selector" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/part-of: offramp
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{- define "offramp.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/*
The widget's routes (docs/api.md, "Widget"), each a path prefix under /psp/alfred: the only gateway
paths the public Ingress serves. /psp/alfred/__dev, /api/admin, /console, /playground, /docs and
/metrics are not among them. tools/stack/test/helm.test.ts compares this list with docs/api.md.
*/}}
{{- define "offramp.widgetPaths" -}}
- /psp/alfred/eligibility
- /psp/alfred/supported-options
- /psp/alfred/quote-preview
- /psp/alfred/fiat-accounts
- /psp/alfred/session
- /psp/alfred/initiate-withdrawal
- /psp/alfred/withdrawals
- /psp/alfred/balances
- /psp/alfred/events
{{- end -}}

{{/*
The partner API's routes (docs/api.md, "Partner API"): exchanges call them from their servers with
a signed request, so they are public too, unless ingress.partnerApi is false.
*/}}
{{- define "offramp.partnerPaths" -}}
- /partner/v1/withdrawal-requests
{{- end -}}

{{/* The operator and tooling paths of the gateway: only on the internal Ingress. */}}
{{- define "offramp.internalPaths" -}}
- /api/admin
- /console
- /docs
{{- if .Values.devEndpoints.enabled }}
- /playground
- /psp/alfred/__dev
{{- end }}
{{- end -}}
