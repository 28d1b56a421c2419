import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import { repoRoot } from '../src/config.ts';
import { chartDir, lintChart, renderChart, type ChartValues } from './helm.ts';
import {
  expectedServices,
  ingressPaths as pathsOf,
  internalOnlyPaths as internalOnly,
  partnerRoutesOfApiDoc,
  secretVariables,
  servedBy,
  validateManifest,
  widgetRoutesOfApiDoc,
  type Manifest,
} from './manifests.ts';

const podSpecOf = (m: Manifest) => (m as unknown as { spec: { template: { spec: IPodSpec } } }).spec.template.spec;
const ofKind = (manifests: Manifest[], kind: string) => manifests.filter((m) => m.kind === kind);
const named = (manifests: Manifest[], kind: string, name: string) => ofKind(manifests, kind).find((m) => m.metadata.name === name);
const ingressPathsOf = (manifests: Manifest[]) => pathsOf(named(manifests, 'Ingress', 'offramp'));

const production: ChartValues = { values: ['deploy/k8s/chart/values-production-example.yaml'] };
const qa: ChartValues = {
  set: [
    'devEndpoints.enabled=true',
    'sandbox.enabled=true',
    'ingressInternal.enabled=true',
    'nats.enabled=true',
    'monitoring.serviceMonitor.enabled=true',
    'monitoring.prometheusRule.enabled=true',
    'monitoring.runbookBaseUrl=https://qa.example.com/runbooks',
  ],
};

describe('the Helm chart, rendered offline with its vendored NATS chart', () => {
  const byDefault = renderChart();
  const prod = renderChart(production);
  const qaRender = renderChart(qa);

  it('when linted with --strict (default values, the production example with NATS, the QA switches), then helm reports nothing', () => {
    for (const values of [{}, production, qa])
      expect(lintChart(values), JSON.stringify(values)).toContain('1 chart(s) linted, 0 chart(s) failed');
  });

  it('when Chart.lock is read, then it locks exactly the dependency Chart.yaml names, and that chart is vendored in charts/', () => {
    const chart = parse(readFileSync(path.join(chartDir, 'Chart.yaml'), 'utf8')) as {
      dependencies: { name: string; version: string; repository: string }[];
    };
    const lock = parse(readFileSync(path.join(chartDir, 'Chart.lock'), 'utf8')) as {
      dependencies: { name: string; version: string; repository: string }[];
    };
    expect(lock.dependencies).toEqual(chart.dependencies.map(({ name, version, repository }) => ({ name, version, repository })));
    const vendored = parse(readFileSync(path.join(chartDir, 'charts/nats/Chart.yaml'), 'utf8')) as { name: string; version: string };
    expect(vendored).toMatchObject({ name: 'nats', version: chart.dependencies[0]!.version });
    expect(chart.dependencies[0]!.repository).toBe('file://charts/nats');
    // Nothing packaged: the directory is the dependency (no tarball to keep in step with it).
    expect(readdirSync(path.join(chartDir, 'charts'))).toEqual(['nats']);
  });

  it('when rendered with each set of values, then every object passes the API schema of its kind (the Prometheus Operator CRDs included)', () => {
    expect(byDefault.length).toBeGreaterThan(20);
    for (const rendered of [byDefault, prod, qaRender])
      for (const manifest of rendered)
        expect(() => validateManifest(manifest), `${manifest.kind}/${manifest.metadata?.name}`).not.toThrow();
    expect(ofKind(prod, 'StatefulSet')).toHaveLength(1);
    expect(ofKind(prod, 'ServiceMonitor')).toHaveLength(1);
    expect(ofKind(prod, 'PrometheusRule')).toHaveLength(1);
  });

  it('when rendered with its default values, then each service has a startup probe, probes /healthz and /readyz, sleeps before SIGTERM, runs non-root, and QA, NATS and monitoring are off', () => {
    const deployments = ofKind(byDefault, 'Deployment');
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(Object.keys(expectedServices).sort());
    for (const deployment of deployments) {
      const pod = podSpecOf(deployment);
      const name = deployment.metadata.name;
      expect(pod.securityContext?.runAsNonRoot, name).toBe(true);
      for (const c of pod.containers) {
        expect(c.startupProbe?.httpGet?.path, name).toBe('/healthz');
        expect((c.startupProbe?.periodSeconds ?? 0) * (c.startupProbe?.failureThreshold ?? 0), name).toBeGreaterThanOrEqual(60);
        expect(c.livenessProbe?.httpGet?.path, name).toBe('/healthz');
        expect(c.readinessProbe?.httpGet?.path, name).toBe('/readyz');
        expect(c.lifecycle?.preStop?.exec?.command, name).toEqual(['sleep', '5']);
        // The sleep and the service's drain (SHUTDOWN_GRACE_MS, 10 s) fit in the grace period.
        expect(pod.terminationGracePeriodSeconds, name).toBeGreaterThan(5 + 10);
        expect(c.resources?.requests && c.resources?.limits, name).toBeTruthy();
        expect(c.securityContext?.allowPrivilegeEscalation, name).toBe(false);
        for (const e of c.env ?? []) {
          if (secretVariables.includes(e.name)) expect(e.valueFrom?.secretKeyRef, `${name} ${e.name}`).toBeDefined();
        }
      }
    }
    const rendered = JSON.stringify(byDefault);
    expect(rendered).not.toContain('DEV_ENDPOINTS');
    expect(rendered).not.toMatch(/alfred-sandbox/);
    expect(ofKind(byDefault, 'Secret')).toEqual([]);
    expect(ofKind(byDefault, 'StatefulSet')).toEqual([]);
    expect(ofKind(byDefault, 'ServiceMonitor')).toEqual([]);
    expect(ofKind(byDefault, 'PrometheusRule')).toEqual([]);
    expect(named(byDefault, 'Ingress', 'offramp-internal')).toBeUndefined();
    const job = ofKind(byDefault, 'Job')[0] as unknown as { metadata: { annotations: Record<string, string> } };
    expect(job.metadata.annotations['helm.sh/hook']).toBe('pre-install,pre-upgrade');
  });

  it('when rendered with each set of values, then the public Ingress serves every widget and partner API route of docs/api.md and the webhook, and no admin, console, playground, docs, metrics or QA path', () => {
    const widgetRoutes = widgetRoutesOfApiDoc();
    expect(widgetRoutes).toEqual(
      expect.arrayContaining(['/psp/alfred/eligibility', '/psp/alfred/withdrawals/:id', '/psp/alfred/events/ticket']),
    );
    for (const rendered of [byDefault, prod, qaRender]) {
      const paths = pathsOf(named(rendered, 'Ingress', 'offramp'));
      for (const route of widgetRoutes) expect(servedBy(paths, route)?.backend.service.name, route).toBe('gateway');
      expect(servedBy(paths, '/psp/alfred/webhook')).toMatchObject({ pathType: 'Exact', backend: { service: { name: 'psp-alfred' } } });
      for (const url of internalOnly) expect(servedBy(paths, url), url).toBeUndefined();
      for (const route of partnerRoutesOfApiDoc()) expect(servedBy(paths, route)?.backend.service.name, route).toBe('gateway');
      for (const p of paths)
        expect(p.path, "every public path is the widget's (not QA) or the partner API's").toMatch(
          /^\/(psp\/alfred\/(?!__dev)[a-z-]+|partner\/v1\/[a-z-]+)$/,
        );
    }
    const partnerRoutes = partnerRoutesOfApiDoc();
    expect(partnerRoutes).toEqual(
      expect.arrayContaining(['/partner/v1/withdrawal-requests', '/partner/v1/withdrawal-requests/:withdrawRequestId']),
    );
    // ingress.partnerApi=false keeps the partner API inside.
    const withoutPartners = ingressPathsOf(renderChart({ set: ['ingress.partnerApi=false'] }));
    for (const route of partnerRoutes) expect(servedBy(withoutPartners, route), route).toBeUndefined();
    expect(servedBy(withoutPartners, '/psp/alfred/withdrawals')).toBeDefined();
  });

  it('when the internal Ingress is on, then it serves the operator API, the console and the docs on its own class and host, and the playground and QA routes only with devEndpoints', () => {
    const prodInternal = pathsOf(named(prod, 'Ingress', 'offramp-internal'));
    const internal = named(prod, 'Ingress', 'offramp-internal') as unknown as {
      spec: { ingressClassName: string; rules: { host: string }[] };
    };
    expect(internal.spec.ingressClassName).toBe('nginx-internal');
    expect(internal.spec.rules[0]!.host).not.toBe(
      (named(prod, 'Ingress', 'offramp') as unknown as { spec: { rules: { host: string }[] } }).spec.rules[0]!.host,
    );
    for (const url of ['/api/admin/withdrawals', '/console', '/docs/json'])
      expect(servedBy(prodInternal, url)?.backend.service.name, url).toBe('gateway');
    for (const url of ['/playground', '/psp/alfred/__dev/fund', '/metrics', '/psp/alfred/withdrawals'])
      expect(servedBy(prodInternal, url), url).toBeUndefined();
    const qaInternal = pathsOf(named(qaRender, 'Ingress', 'offramp-internal'));
    for (const url of ['/playground', '/psp/alfred/__dev/fund'])
      expect(servedBy(qaInternal, url)?.backend.service.name, url).toBe('gateway');
  });

  it('when the gateway is rendered, then TRUST_PROXY, the rate-limit store and the JWKS URL come from the values', () => {
    const envOf = (rendered: Manifest[]) =>
      Object.fromEntries((podSpecOf(named(rendered, 'Deployment', 'gateway')!).containers[0]!.env ?? []).map((e) => [e.name, e.value]));
    expect(envOf(byDefault)).toMatchObject({ TRUST_PROXY: '1', RATE_LIMIT_STORE: 'nats' });
    expect(envOf(byDefault)).not.toHaveProperty('JWT_JWKS_URL');
    expect(envOf(prod)).toMatchObject({ JWT_JWKS_URL: 'https://auth.example.com/.well-known/jwks.json' });
    const custom = renderChart({ set: ['gateway.trustProxy=10.0.0.0/8\\,192.168.0.0/16', 'gateway.rateLimitStore=memory'] });
    expect(envOf(custom)).toMatchObject({ TRUST_PROXY: '10.0.0.0/8,192.168.0.0/16', RATE_LIMIT_STORE: 'memory' });
    // Only the gateway reads them.
    expect(JSON.stringify(ofKind(byDefault, 'Deployment').filter((d) => d.metadata.name !== 'gateway'))).not.toContain('TRUST_PROXY');
    // With a JWKS URL the gateway may reach the issuer over HTTPS.
    expect(named(prod, 'NetworkPolicy', 'offramp-egress-jwks')).toBeDefined();
    expect(named(byDefault, 'NetworkPolicy', 'offramp-egress-jwks')).toBeUndefined();
    // sessions delivers the partners' webhooks over HTTPS.
    const partnerEgress = named(byDefault, 'NetworkPolicy', 'offramp-egress-partner-webhooks') as unknown as {
      spec: { podSelector: { matchLabels: Record<string, string> }; egress: { ports: { port: number }[] }[] };
    };
    expect(partnerEgress.spec.podSelector.matchLabels['app.kubernetes.io/name']).toBe('sessions');
    expect(partnerEgress.spec.egress[0]!.ports.map((p) => p.port)).toEqual([443]);
  });

  it('when monitoring is on, then the ServiceMonitor scrapes /metrics of exactly the services as job "offramp", and the PrometheusRule carries the rules file with runbooks under runbookBaseUrl', () => {
    const monitor = named(prod, 'ServiceMonitor', 'offramp') as unknown as {
      metadata: { labels: Record<string, string> };
      spec: {
        selector: { matchLabels: Record<string, string>; matchExpressions: { key: string; operator: string; values: string[] }[] };
        endpoints: { port: string; path: string; relabelings: { targetLabel: string; replacement: string }[] }[];
      };
    };
    expect(monitor.metadata.labels.release).toBe('kube-prometheus-stack');
    expect(monitor.spec.selector.matchExpressions).toEqual([
      { key: 'app.kubernetes.io/name', operator: 'In', values: Object.keys(expectedServices).sort() },
    ]);
    expect(monitor.spec.endpoints).toEqual([
      expect.objectContaining({
        port: 'http',
        path: '/metrics',
        relabelings: [expect.objectContaining({ targetLabel: 'job', replacement: 'offramp' })],
      }),
    ]);
    // Each selected Service has the port the monitor names.
    for (const name of Object.keys(expectedServices)) {
      const service = named(prod, 'Service', name) as unknown as {
        metadata: { labels: Record<string, string> };
        spec: { ports: { name: string }[] };
      };
      expect(
        service.spec.ports.map((p) => p.name),
        name,
      ).toContain('http');
      expect(service.metadata.labels, name).toMatchObject(monitor.spec.selector.matchLabels);
    }

    const rulesFile = parse(readFileSync(path.join(chartDir, 'files/prometheus-rules.yaml'), 'utf8')) as { groups: unknown };
    const rule = named(prod, 'PrometheusRule', 'offramp') as unknown as {
      spec: { groups: { rules: { annotations: { runbook_url: string } }[] }[] };
    };
    const base = 'https://git.example.com/offramp/blob/main/docs/runbooks';
    expect(JSON.stringify(rule.spec.groups)).toBe(JSON.stringify(rulesFile.groups).replaceAll('RUNBOOK_BASE_URL', base));
    for (const r of rule.spec.groups.flatMap((g) => g.rules)) {
      expect(r.annotations.runbook_url.startsWith(`${base}/`), r.annotations.runbook_url).toBe(true);
      expect(
        existsSync(path.join(repoRoot, 'docs/runbooks', r.annotations.runbook_url.slice(base.length + 1))),
        r.annotations.runbook_url,
      ).toBe(true);
    }
    expect(() => renderChart({ set: ['monitoring.prometheusRule.enabled=true'] })).toThrow(/monitoring.runbookBaseUrl is required/);
  });

  it('when rendered with the production example, then NATS is a 3-node JetStream cluster on volumes whose pods NATS_URL lists, and streams are replicated three times', () => {
    const nats = named(prod, 'StatefulSet', 'nats') as unknown as {
      spec: { replicas: number; serviceName: string; volumeClaimTemplates: { spec: { resources: { requests: { storage: string } } } }[] };
    };
    expect(nats.spec.replicas).toBe(3);
    expect(nats.spec.volumeClaimTemplates[0]!.spec.resources.requests.storage).toBe('20Gi');
    expect(named(prod, 'Service', nats.spec.serviceName)).toBeDefined();
    const natsConf = (named(prod, 'ConfigMap', 'nats-config') as unknown as { data: Record<string, string> }).data['nats.conf']!;
    expect(natsConf).toMatch(/jetstream \{[^}]*store_dir: "\/data"/);
    for (const i of [0, 1, 2]) expect(natsConf).toContain(`nats://nats-${i}.nats-headless:6222`);
    const config = (named(prod, 'ConfigMap', 'offramp-config') as unknown as { data: Record<string, string> }).data;
    expect(config.NATS_URL!.split(',')).toEqual([0, 1, 2].map((i) => `nats://nats-${i}.${nats.spec.serviceName}:4222`));
    expect(config.NATS_STREAM_REPLICAS).toBe('3');
    expect(named(prod, 'PodDisruptionBudget', 'nats')).toBeDefined();
  });

  it("when nats-server is installed, then it accepts the vendored chart's rendered nats.conf (cluster and JetStream as in production)", () => {
    const natsConf = (named(prod, 'ConfigMap', 'nats-config') as unknown as { data: Record<string, string> }).data['nats.conf']!;
    const server = ['nats-server', '/usr/sbin/nats-server'].find((bin) => spawnSync(bin, ['--version']).status === 0);
    // The machine's services include nats-server (README "Testing"): in CI it must be there.
    if (process.env.CI) expect(server, 'nats-server on PATH or in /usr/sbin').toBeDefined();
    if (server) {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'offramp-nats-conf-'));
      try {
        const file = path.join(dir, 'nats.conf');
        // The pod's paths moved into a scratch folder; nothing else changed.
        writeFileSync(
          file,
          natsConf.replace('/var/run/nats/nats.pid', path.join(dir, 'nats.pid')).replace('"/data"', JSON.stringify(path.join(dir, 'data'))),
        );
        const check = spawnSync(server, ['-c', file, '-t'], { env: { PATH: process.env.PATH, SERVER_NAME: 'nats-0' }, encoding: 'utf8' });
        expect(`${check.stdout}${check.stderr}`).toContain('is valid');
        expect(check.status).toBe(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    expect(natsConf).toContain('server_name: $SERVER_NAME');
  });

  it('when QA switches are turned on, then the dev endpoints and the sandbox appear (and only then)', () => {
    const rendered = JSON.stringify(qaRender);
    expect(rendered).toContain('DEV_ENDPOINTS');
    expect(rendered).toMatch(/alfred-sandbox/);
    // NATS on with the default values: its client Service is the host the default NATS_URL names.
    const natsUrl = (named(qaRender, 'ConfigMap', 'offramp-config') as unknown as { data: Record<string, string> }).data.NATS_URL!;
    expect(named(qaRender, 'Service', new URL(natsUrl).hostname)).toBeDefined();
    expect(named(qaRender, 'StatefulSet', 'nats')).toBeDefined();
    // The sandbox has no /metrics: the ServiceMonitor does not select it.
    const monitor = named(qaRender, 'ServiceMonitor', 'offramp') as unknown as {
      spec: { selector: { matchExpressions: { values: string[] }[] } };
    };
    expect(monitor.spec.selector.matchExpressions[0]!.values).not.toContain('alfred-sandbox');
  });
});
