import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import { repoRoot } from '../src/config.ts';
import {
  expectedServices,
  ingressPaths,
  internalOnlyPaths,
  models,
  partnerRoutesOfApiDoc,
  secretVariables,
  servedBy,
  widgetRoutesOfApiDoc,
  type Manifest,
} from './manifests.ts';

// The kustomize base is checked object by object against the Kubernetes API schemas; the chart's
// values and Chart.yaml here, its rendered manifests in helm.test.ts.
const k8sDir = path.join(repoRoot, 'deploy/k8s');
const baseDir = path.join(k8sDir, 'base');
const chartDir = path.join(k8sDir, 'chart/offramp');

function readYaml(file: string): unknown {
  return parse(readFileSync(file, 'utf8'));
}

function loadBase(): Manifest[] {
  const kustomization = readYaml(path.join(baseDir, 'kustomization.yaml')) as { resources: string[] };
  return kustomization.resources.flatMap((resource) => {
    const documents = parseAllDocuments(readFileSync(path.join(baseDir, resource), 'utf8'));
    return documents.map((document) => {
      expect(document.errors, resource).toEqual([]);
      return document.toJS() as Manifest;
    });
  });
}

const base = loadBase();
const ofKind = (kind: string) => base.filter((m) => m.kind === kind);
const named = (kind: string, name: string) => ofKind(kind).find((m) => m.metadata.name === name);
const podSpecOf = (m: Manifest) => (m as unknown as { spec: { template: { spec: IPodSpec } } }).spec.template.spec;
const allContainers = () => [...ofKind('Deployment'), ...ofKind('Job')].flatMap((m) => podSpecOf(m).containers);

function containerPort(container: IContainer, port: number | string | undefined): number | undefined {
  if (typeof port === 'number') return port;
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

describe('the kustomize base', () => {
  it('when every listed file is parsed, then each object is a known kind that passes the Kubernetes API schema', () => {
    expect(base.length).toBeGreaterThan(20);
    for (const manifest of base) {
      const model = models[`${manifest.apiVersion}/${manifest.kind}`];
      expect(model, `${manifest.apiVersion} ${manifest.kind} ${manifest.metadata?.name}`).toBeDefined();
      const { apiVersion: _apiVersion, kind: _kind, ...data } = manifest;
      expect(() => new model!(data as never).validate(), `${manifest.kind}/${manifest.metadata.name}`).not.toThrow();
    }
  });

  it('when the kustomization lists its resources, then every yaml file of the base is one of them', () => {
    const kustomization = readYaml(path.join(baseDir, 'kustomization.yaml')) as { resources: string[]; namespace: string };
    const files = readdirSync(baseDir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    expect([...kustomization.resources].sort()).toEqual(files.sort());
    expect(kustomization.namespace).toBe('offramp');
  });

  it('when each service is looked up, then it has a Deployment, a Service, an HPA and a PDB, and nothing else runs', () => {
    for (const [name, port] of Object.entries(expectedServices)) {
      const service = named('Service', name) as unknown as { spec: { ports: { port: number }[] } };
      expect(named('Deployment', name), name).toBeDefined();
      expect(service.spec.ports[0]?.port, name).toBe(port);
      expect(named('HorizontalPodAutoscaler', name), name).toBeDefined();
      expect(named('PodDisruptionBudget', name), name).toBeDefined();
    }
    expect(
      ofKind('Deployment')
        .map((d) => d.metadata.name)
        .sort(),
    ).toEqual(Object.keys(expectedServices).sort());
  });

  it('when a Deployment is read, then it probes /healthz and /readyz on its port, sets resources and runs non-root', () => {
    for (const [name, port] of Object.entries(expectedServices)) {
      const pod = podSpecOf(named('Deployment', name)!);
      const [container] = pod.containers;
      expect(pod.containers).toHaveLength(1);
      expect(container!.env?.find((e) => e.name === 'SERVICE')?.value).toBe(name);
      expect(container!.env?.find((e) => e.name === 'PORT')?.value).toBe(String(port));
      expect(container!.livenessProbe?.httpGet?.path, name).toBe('/healthz');
      expect(containerPort(container!, container!.livenessProbe?.httpGet?.port), name).toBe(port);
      expect(container!.readinessProbe?.httpGet?.path, name).toBe('/readyz');
      expect(containerPort(container!, container!.readinessProbe?.httpGet?.port), name).toBe(port);
      expect(pod.securityContext?.runAsNonRoot, name).toBe(true);
      expect(pod.securityContext?.seccompProfile?.type, name).toBe('RuntimeDefault');
    }
  });

  it('when any container is read, then it has requests and limits and the locked-down securityContext', () => {
    for (const container of allContainers()) {
      expect(container.resources?.requests, container.name).toMatchObject({ cpu: expect.anything(), memory: expect.anything() });
      expect(container.resources?.limits, container.name).toMatchObject({ cpu: expect.anything(), memory: expect.anything() });
      expect(container.securityContext, container.name).toMatchObject({
        runAsNonRoot: true,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      });
    }
  });

  it('when secrets are looked for, then no Secret object exists and every secret variable comes from a secretKeyRef', () => {
    expect(ofKind('Secret')).toEqual([]);
    const configMapKeys = ofKind('ConfigMap').flatMap((m) => Object.keys((m as { data?: object }).data ?? {}));
    expect(configMapKeys.filter((key) => secretVariables.includes(key))).toEqual([]);
    const secretEnv = allContainers().flatMap((c) => (c.env ?? []).filter((e) => secretVariables.includes(e.name)));
    expect(secretEnv.length).toBeGreaterThanOrEqual(8);
    for (const variable of secretEnv) {
      expect(variable.value, variable.name).toBeUndefined();
      expect(variable.valueFrom?.secretKeyRef?.name, variable.name).toBe('offramp-secrets');
    }
  });

  it('when the QA switches are looked for, then DEV_ENDPOINTS is set nowhere and the sandbox is absent', () => {
    const everything = base.map((m) => JSON.stringify(m)).join('\n');
    expect(everything).not.toMatch(/DEV_ENDPOINTS/);
    expect(everything).not.toMatch(/sandbox/i);
    expect(everything).not.toMatch(/:8090\b/);
  });

  it('when the Ingresses are read, then the public one serves only the widget and partner API routes of docs/api.md and the exact webhook, the internal one the operator API, console and docs', () => {
    const paths = ingressPaths(named('Ingress', 'offramp'));
    for (const route of widgetRoutesOfApiDoc()) expect(servedBy(paths, route)?.backend.service.name, route).toBe('gateway');
    expect(servedBy(paths, '/psp/alfred/webhook')).toMatchObject({ pathType: 'Exact', backend: { service: { name: 'psp-alfred' } } });
    for (const route of partnerRoutesOfApiDoc()) expect(servedBy(paths, route)?.backend.service.name, route).toBe('gateway');
    for (const url of internalOnlyPaths) expect(servedBy(paths, url), url).toBeUndefined();
    const internal = ingressPaths(named('Ingress', 'offramp-internal'));
    for (const url of ['/api/admin/withdrawals', '/console', '/docs/json'])
      expect(servedBy(internal, url)?.backend.service.name, url).toBe('gateway');
    for (const url of ['/metrics', '/playground', '/psp/alfred/__dev/fund', '/psp/alfred/withdrawals'])
      expect(servedBy(internal, url), url).toBeUndefined();
    const classes = ofKind('Ingress').map((i) => new Ingress(i as never).spec?.ingressClassName);
    expect(new Set(classes).size).toBe(2);
  });

  it('when a Deployment is read, then it has a startup probe and sleeps before SIGTERM; the gateway trusts one proxy and shares its rate limits', () => {
    for (const name of Object.keys(expectedServices)) {
      const [container] = podSpecOf(named('Deployment', name)!).containers;
      expect(container!.startupProbe?.httpGet?.path, name).toBe('/healthz');
      expect(container!.lifecycle?.preStop?.exec?.command, name).toEqual(['sleep', '5']);
    }
    const env = podSpecOf(named('Deployment', 'gateway')!).containers[0]!.env ?? [];
    expect(Object.fromEntries(env.map((e) => [e.name, e.value]))).toMatchObject({ TRUST_PROXY: '1', RATE_LIMIT_STORE: 'nats' });
  });

  it('when the NetworkPolicies are read, then only gateway and psp-alfred admit the ingress controller, and egress is denied by default', () => {
    const policies = ofKind('NetworkPolicy').map((m) => new NetworkPolicy(m as never));
    const deny = policies.find((p) => p.metadata?.name === 'offramp-default-deny');
    expect(deny?.spec?.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(deny?.spec?.ingress).toBeUndefined();
    expect(deny?.spec?.egress).toBeUndefined();
    const fromIngressController = policies.filter((p) =>
      (p.spec?.ingress ?? []).some((rule) =>
        (rule.from ?? []).some((peer) => peer.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] === 'ingress-nginx'),
      ),
    );
    const admitted = fromIngressController.map((p) => [
      p.spec?.podSelector?.matchLabels?.['app.kubernetes.io/name'],
      p.spec?.ingress?.[0]?.ports?.[0]?.port,
    ]);
    expect(admitted.sort()).toEqual([
      ['gateway', 8080],
      ['psp-alfred', 8081],
    ]);
    const infraPorts = policies
      .find((p) => p.metadata?.name === 'offramp-egress-infrastructure')
      ?.spec?.egress?.flatMap((r) => r.ports ?? [])
      .map((p) => p.port);
    expect(infraPorts).toEqual(expect.arrayContaining([53, 4222, 5432]));
  });

  it('when the migration Job is read, then it runs the image as SERVICE=migrate with DATABASE_URL from the Secret', () => {
    const job = named('Job', 'offramp-migrate')!;
    const [container] = podSpecOf(job).containers;
    expect(container!.command).toBeUndefined();
    expect(container!.env?.find((e) => e.name === 'SERVICE')?.value).toBe('migrate');
    expect(container!.env?.find((e) => e.name === 'DATABASE_URL')?.valueFrom?.secretKeyRef?.key).toBe('database-url');
    expect(podSpecOf(job).restartPolicy).toBe('Never');
  });
});

type ChartValues = {
  devEndpoints: { enabled: boolean };
  sandbox: { enabled: boolean };
  secretName: string;
  config: Record<string, string>;
  services: Record<string, { port: number; secretEnv: { name: string; key: string }[] }>;
  nats: { enabled: boolean; config?: { cluster: { replicas: number }; jetstream: { enabled: boolean } } };
};

describe('the Helm chart (values and Chart.yaml; helm.test.ts renders it)', () => {
  const chart = readYaml(path.join(chartDir, 'Chart.yaml')) as {
    apiVersion: string;
    name: string;
    dependencies: { name: string; condition: string; repository: string }[];
  };
  const values = readYaml(path.join(chartDir, 'values.yaml')) as ChartValues;
  const production = readYaml(path.join(k8sDir, 'chart/values-production-example.yaml')) as ChartValues;

  it('when Chart.yaml is read, then it is a v2 chart named offramp with the vendored NATS chart as an optional dependency', () => {
    expect(chart).toMatchObject({ apiVersion: 'v2', name: 'offramp' });
    expect(chart.dependencies).toEqual([
      expect.objectContaining({ name: 'nats', condition: 'nats.enabled', repository: 'file://charts/nats' }),
    ]);
  });

  it('when the default values are read, then dev endpoints and the sandbox are off and every service is present on its port', () => {
    expect(values.devEndpoints.enabled).toBe(false);
    expect(values.sandbox.enabled).toBe(false);
    expect(Object.fromEntries(Object.entries(values.services).map(([name, s]) => [name, s.port]))).toEqual(expectedServices);
    expect(Object.keys(values.config).filter((key) => secretVariables.includes(key) || key === 'DEV_ENDPOINTS')).toEqual([]);
  });

  it('when the values name secret variables, then they are Secret keys, the same ones the kustomize base uses', () => {
    const baseRefs = allContainers().flatMap((c) =>
      (c.env ?? []).flatMap((e) => (e.valueFrom?.secretKeyRef ? [`${c.name}:${e.name}:${e.valueFrom.secretKeyRef.key}`] : [])),
    );
    const chartRefs = Object.entries(values.services).flatMap(([name, s]) => s.secretEnv.map((e) => `${name}:${e.name}:${e.key}`));
    expect(values.secretName).toBe('offramp-secrets');
    expect(chartRefs.sort()).toEqual(baseRefs.filter((ref) => !ref.startsWith('migrate:')).sort());
  });

  it('when the production example is read, then it runs a 3-node JetStream cluster and keeps QA features off', () => {
    expect(production.devEndpoints.enabled).toBe(false);
    expect(production.sandbox.enabled).toBe(false);
    expect(production.nats).toMatchObject({
      enabled: true,
      config: { cluster: { enabled: true, replicas: 3 }, jetstream: { enabled: true } },
    });
    expect(production.config.NATS_URL?.split(',')).toHaveLength(3);
    expect(Object.keys(production.services).sort()).toEqual(Object.keys(expectedServices).sort());
    expect(JSON.stringify(production)).not.toMatch(/postgres(ql)?:\/\//);
  });

  it('when the templates are listed, then the chart has every object of the base, the hook Job and the opt-in sandbox', () => {
    const templates = readdirSync(path.join(chartDir, 'templates')).sort();
    expect(templates).toEqual(
      expect.arrayContaining([
        'configmap.yaml',
        'deployments.yaml',
        'hpa.yaml',
        'ingress.yaml',
        'migrate-job.yaml',
        'networkpolicy.yaml',
        'pdb.yaml',
        'sandbox.yaml',
        'serviceaccount.yaml',
        'services.yaml',
      ]),
    );
    const job = readFileSync(path.join(chartDir, 'templates/migrate-job.yaml'), 'utf8');
    expect(job).toContain('helm.sh/hook: pre-install,pre-upgrade');
    expect(readFileSync(path.join(chartDir, 'templates/sandbox.yaml'), 'utf8').split('\n')[0]).toBe('{{- if .Values.sandbox.enabled }}');
  });
});
