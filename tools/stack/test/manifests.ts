import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { repoRoot } from '../src/config.ts';

/** What the kustomize base and the rendered Helm chart are both checked against. */
/** The production services and their ports (tools/stack/src/services.ts, minus the sandbox). */
export const expectedServices: Record<string, number> = {
  gateway: 8080,
  'psp-alfred': 8081,
  ledger: 8082,
  risk: 8083,
  sessions: 8084,
  notifier: 8085,
};

/** Variables that carry secrets: they may only come from a secretKeyRef. */
export const secretVariables = [
  'DATABASE_URL',
  'JWT_SECRET',
  'JWT_PUBLIC_KEY',
  'ALFRED_API_KEY',
  'ALFRED_API_SECRET',
  'ALFRED_WEBHOOK_SECRET',
  'SMTP_URL',
  'DEV_SECRET',
];

export type Manifest = { apiVersion: string; kind: string; metadata: { name: string }; [key: string]: unknown };

/** Every kind the base and the chart may contain, with the model that validates it (the Prometheus Operator's CRDs included). */
export const models: Record<string, new (data: never) => { validate(): void }> = {
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'monitoring.coreos.com/v1/PrometheusRule': PrometheusRule,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'batch/v1/Job': Job,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'networking.k8s.io/v1/Ingress': Ingress,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
};

/** Throws when the object does not pass the Kubernetes API schema of its kind (or the kind is unknown). */
export function validateManifest(manifest: Manifest): void {
  const model = models[`${manifest.apiVersion}/${manifest.kind}`];
  if (!model) throw new Error(`unknown kind ${manifest.apiVersion} ${manifest.kind} ${manifest.metadata?.name}`);
  const { apiVersion: _apiVersion, kind: _kind, ...data } = manifest;
  new model(data as never).validate();
}

export interface IngressPath {
  path: string;
  pathType: string;
  backend: { service: { name: string } };
}

export const ingressPaths = (ingress: Manifest | undefined): IngressPath[] =>
  (ingress as unknown as { spec: { rules: { http: { paths: IngressPath[] } }[] } } | undefined)?.spec.rules.flatMap((r) => r.http.paths) ??
  [];

/** The path of an Ingress that serves `url`: Prefix matches by whole path elements (/a/b serves /a/b and /a/b/c, not /a/bc). */
export const servedBy = (paths: IngressPath[], url: string): IngressPath | undefined =>
  paths.find((p) => (p.pathType === 'Exact' ? url === p.path : url === p.path || url.startsWith(`${p.path}/`)));

/** The widget's routes as docs/api.md lists them ("## Widget (trader JWT), prefix `/psp/alfred`"), with their :params. */
export function widgetRoutesOfApiDoc(): string[] {
  const doc = readFileSync(path.join(repoRoot, 'docs/api.md'), 'utf8');
  const start = doc.indexOf('## Widget');
  const section = doc.slice(start, doc.indexOf('\n## ', start + 1));
  // A row may name two routes ("GET `/withdrawals`, GET `/withdrawals/:id`").
  const routes = [...section.matchAll(/(?:^\| |, )(?:GET|POST|PUT|PATCH|DELETE) `([^`?]+)/gm)].map((m) => `/psp/alfred${m[1]}`);
  return [...new Set(routes)];
}

/** The partner API's routes as docs/api.md lists them ("## Partner API (`/partner/v1`)"). */
export function partnerRoutesOfApiDoc(): string[] {
  const doc = readFileSync(path.join(repoRoot, 'docs/api.md'), 'utf8');
  const start = doc.indexOf('## Partner API');
  const section = doc.slice(start, doc.indexOf('\n## ', start + 1));
  return [...new Set([...section.matchAll(/^\| (?:GET|POST|PUT|PATCH|DELETE) `([^`?]+)/gm)].map((m) => `/partner/v1${m[1]}`))];
}

/** Paths that must never be public: the operator API and pages, the docs, metrics, QA, the root. */
export const internalOnlyPaths = [
  '/',
  '/healthz',
  '/metrics',
  '/api/admin',
  '/api/admin/withdrawals',
  '/console',
  '/playground',
  '/docs',
  '/docs/json',
  '/psp/alfred/__dev/fund',
  '/api/admin/partners',
];
