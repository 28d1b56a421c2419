import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';

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

/** Every kind the base may contain, with the model that validates it. */
export const models: Record<string, new (data: never) => { validate(): void }> = {
  'apps/v1/Deployment': Deployment,
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
