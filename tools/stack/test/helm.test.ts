import { describe, expect, it } from 'vitest';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import { lintChart, renderChart } from './helm.ts';
import { expectedServices, secretVariables, validateManifest, type Manifest } from './manifests.ts';

const podSpecOf = (m: Manifest) => (m as unknown as { spec: { template: { spec: IPodSpec } } }).spec.template.spec;
const ofKind = (manifests: Manifest[], kind: string) => manifests.filter((m) => m.kind === kind);

describe('the Helm chart, rendered with helm template', () => {
  const byDefault = renderChart();

  it('when linted, then helm reports no failed chart', () => {
    expect(lintChart()).toContain('0 chart(s) failed');
  });

  it('when rendered with its default values, then every object passes the Kubernetes API schema of its kind', () => {
    expect(byDefault.length).toBeGreaterThan(20);
    for (const manifest of byDefault) expect(() => validateManifest(manifest), `${manifest.kind}/${manifest.metadata?.name}`).not.toThrow();
  });

  it('when rendered with its default values, then each service probes /healthz and /readyz, has resources, runs non-root, and QA is off', () => {
    const deployments = ofKind(byDefault, 'Deployment');
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(Object.keys(expectedServices).sort());
    for (const deployment of deployments) {
      const pod = podSpecOf(deployment);
      expect(pod.securityContext?.runAsNonRoot, deployment.metadata.name).toBe(true);
      for (const c of pod.containers) {
        expect(c.livenessProbe?.httpGet?.path, deployment.metadata.name).toBe('/healthz');
        expect(c.readinessProbe?.httpGet?.path, deployment.metadata.name).toBe('/readyz');
        expect(c.resources?.requests && c.resources?.limits, deployment.metadata.name).toBeTruthy();
        expect(c.securityContext?.allowPrivilegeEscalation, deployment.metadata.name).toBe(false);
        for (const e of c.env ?? []) {
          if (secretVariables.includes(e.name)) expect(e.valueFrom?.secretKeyRef, `${deployment.metadata.name} ${e.name}`).toBeDefined();
        }
      }
    }
    const rendered = JSON.stringify(byDefault);
    expect(rendered).not.toContain('DEV_ENDPOINTS');
    expect(rendered).not.toMatch(/alfred-sandbox/);
    expect(ofKind(byDefault, 'Secret')).toEqual([]);
    const job = ofKind(byDefault, 'Job')[0] as unknown as { metadata: { annotations: Record<string, string> } };
    expect(job.metadata.annotations['helm.sh/hook']).toBe('pre-install,pre-upgrade');
  });

  it('when rendered with the production example, then every object passes its schema and streams are replicated three times', () => {
    const production = renderChart({ values: ['deploy/k8s/chart/values-production-example.yaml'] });
    for (const manifest of production)
      expect(() => validateManifest(manifest), `${manifest.kind}/${manifest.metadata?.name}`).not.toThrow();
    expect(JSON.stringify(ofKind(production, 'ConfigMap'))).toContain('"NATS_STREAM_REPLICAS":"3"');
  });

  it('when QA switches are turned on, then the dev endpoints and the sandbox appear (and only then)', () => {
    const qa = renderChart({ set: ['devEndpoints.enabled=true', 'sandbox.enabled=true'] });
    for (const manifest of qa) expect(() => validateManifest(manifest), `${manifest.kind}/${manifest.metadata?.name}`).not.toThrow();
    const rendered = JSON.stringify(qa);
    expect(rendered).toContain('DEV_ENDPOINTS');
    expect(rendered).toMatch(/alfred-sandbox/);
  });
});
