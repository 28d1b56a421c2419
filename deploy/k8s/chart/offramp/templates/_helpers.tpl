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
