import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { exceptionKinds } from '@offramp/contracts';
import { repoRoot } from '../src/config.ts';

// The PrometheusRule is checked by reading it: every alert is complete and links a runbook that
// exists, and every metric it reads is one a service registers.
interface Rule {
  alert: string;
  expr: string;
  labels: { severity: string };
  annotations: { summary: string; description: string; runbook_url: string };
}
const rulesFile = path.join(repoRoot, 'deploy/observability/prometheus-rules.yaml');
const doc = parse(readFileSync(rulesFile, 'utf8')) as { kind: string; spec: { groups: { name: string; rules: Rule[] }[] } };
const rules = doc.spec.groups.flatMap((g) => g.rules);
const runbooksDir = path.join(repoRoot, 'docs/runbooks');

/** The metric names registered in the services' and the kit's sources (prom-client `name: '…'`). */
function registeredMetrics(): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name === 'node_modules' || entry.name === 'test') continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts')) for (const m of readFileSync(full, 'utf8').matchAll(/name: '([a-z_]+)'/g)) names.add(m[1]!);
    }
  };
  walk(path.join(repoRoot, 'services'));
  walk(path.join(repoRoot, 'libs/kit/src'));
  return names;
}

const promqlWords = new Set([
  'max',
  'min',
  'sum',
  'avg',
  'count',
  'increase',
  'rate',
  'irate',
  'histogram_quantile',
  'and',
  'or',
  'unless',
  'by',
  'without',
]);

/** The metric names an expression reads: identifiers outside label matchers, groupings and ranges that are not PromQL words. */
function metricsOf(expr: string): string[] {
  const bare = expr
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\b(by|without)\s*\([^)]*\)/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ');
  return [...bare.matchAll(/[a-z_][a-z0-9_]*/g)].map((m) => m[0]).filter((w) => !promqlWords.has(w));
}

describe('the Prometheus alert rules', () => {
  it('when read, then every alert has a severity, a summary, a description and a runbook that exists', () => {
    expect(doc.kind).toBe('PrometheusRule');
    expect(rules.length).toBeGreaterThan(0);
    for (const r of rules) {
      expect(['page', 'warn'], r.alert).toContain(r.labels.severity);
      expect(r.annotations.summary.length, r.alert).toBeGreaterThan(0);
      expect(r.annotations.description.length, r.alert).toBeGreaterThan(0);
      const runbook = /\/docs\/runbooks\/([a-z0-9-]+\.md)$/.exec(r.annotations.runbook_url)?.[1];
      expect(runbook, r.alert).toBeDefined();
      expect(existsSync(path.join(runbooksDir, runbook!)), `${r.alert}: ${runbook}`).toBe(true);
    }
  });

  it('when the expressions are read, then every metric they name is registered by a service', () => {
    const registered = registeredMetrics();
    for (const r of rules) {
      const metrics = metricsOf(r.expr);
      expect(metrics.length, r.alert).toBeGreaterThan(0);
      for (const m of metrics) expect(registered, `${r.alert} reads ${m}`).toContain(m);
    }
  });

  it('when an exception of any kind is open, then an alert fires on exceptions_open for it', () => {
    const onExceptions = rules.filter((r) => r.expr.includes('exceptions_open'));
    expect(onExceptions.map((r) => r.annotations.runbook_url.split('/').at(-1))).toEqual(['exception-open.md', 'exception-open.md']);
    // Between them the two rules cover every kind: one excludes unknown_partner_reference, the other takes only it.
    expect(onExceptions.map((r) => r.expr)).toEqual([
      expect.stringContaining('kind!="unknown_partner_reference"'),
      expect.stringContaining('kind="unknown_partner_reference"'),
    ]);
    expect(exceptionKinds).toContain('unknown_partner_reference');
    expect(onExceptions.find((r) => r.expr.includes('kind!='))!.labels.severity).toBe('page');
  });
});
