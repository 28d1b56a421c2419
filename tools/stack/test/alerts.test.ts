import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { exceptionKinds } from '@offramp/contracts';
import { createHttpServer, createLogger, createMetrics } from '@offramp/kit';
import { repoRoot } from '../src/config.ts';

// The alert rules file (the chart's PrometheusRule renders it, see helm.test.ts) is checked by
// promtool when it is installed (.ci/run installs it) and, in any case, by reading it: every rule
// is complete and links a runbook that exists, and every metric it reads is one a service exposes.
const rule = z.strictObject({
  alert: z.string().regex(/^[A-Z][A-Za-z0-9]+$/),
  expr: z.string().min(1),
  for: z
    .string()
    .regex(/^\d+[smh]$/)
    .optional(),
  labels: z.strictObject({ severity: z.enum(['page', 'warn']) }),
  annotations: z.strictObject({ summary: z.string().min(1), description: z.string().min(1), runbook_url: z.string() }),
});
type Rule = z.infer<typeof rule>;
const rulesFile = path.join(repoRoot, 'deploy/k8s/chart/offramp/files/prometheus-rules.yaml');
const doc = z
  .strictObject({ groups: z.array(z.strictObject({ name: z.string().min(1), rules: z.array(rule).min(1) })).min(1) })
  .parse(parse(readFileSync(rulesFile, 'utf8')));
const rules: Rule[] = doc.groups.flatMap((g) => g.rules);
const runbooksDir = path.join(repoRoot, 'docs/runbooks');

/** promtool from PATH (Debian's prometheus package), or undefined. */
function promtool(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

/** The metric names the kit's HTTP server exposes on /metrics once it has answered a request (fastify-metrics' histogram). */
async function httpServerMetrics(): Promise<Set<string>> {
  const { app } = createHttpServer({
    log: createLogger({ name: 'alerts-test', level: 'silent' }),
    metrics: createMetrics('alerts-test'),
    readiness: {},
  });
  try {
    await app.ready();
    await app.inject({ method: 'GET', url: '/healthz' });
    const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    return new Set([...text.matchAll(/^([a-z_:][a-z0-9_:]*)(?:\{| )/gm)].map((m) => m[1]!));
  } finally {
    await app.close();
  }
}

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
  it('when promtool is on PATH, then `promtool check rules` passes on the file as shipped; in any case every rule parses with its fields and a unique name', () => {
    const tool = promtool();
    if (tool) {
      const out = execFileSync(tool, ['check', 'rules', rulesFile], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      expect(out).toContain(`SUCCESS: ${rules.length} rules found`);
    }
    // What promtool would refuse and the parse above cannot: two alerts of one name, an empty group.
    expect(new Set(rules.map((r) => r.alert)).size).toBe(rules.length);
    expect(rules.length).toBeGreaterThanOrEqual(9);
    // In CI promtool must be there (.ci/run installs Debian's prometheus package).
    if (process.env.CI) expect(tool, 'promtool on PATH in CI').toBeDefined();
  });

  it('when read, then every alert has a severity, a summary, a description and a runbook that exists', () => {
    for (const r of rules) {
      const runbook = /^RUNBOOK_BASE_URL\/([a-z0-9-]+\.md)$/.exec(r.annotations.runbook_url)?.[1];
      expect(runbook, r.alert).toBeDefined();
      expect(existsSync(path.join(runbooksDir, runbook!)), `${r.alert}: ${runbook}`).toBe(true);
    }
  });

  it("when the expressions are read, then every metric they name is registered by a service, served by the kit's HTTP server or is Prometheus' own up", async () => {
    const registered = registeredMetrics();
    for (const name of await httpServerMetrics()) registered.add(name);
    registered.add('up');
    for (const r of rules) {
      const metrics = metricsOf(r.expr);
      expect(metrics.length, r.alert).toBeGreaterThan(0);
      for (const m of metrics) expect(registered, `${r.alert} reads ${m}`).toContain(m);
    }
  });

  it("when a service pod cannot be scraped or a service answers many 5xx, then an alert pages on up and on the HTTP histogram's 5xx share", () => {
    const down = rules.find((r) => /\bup\{job="offramp"\}\)? == 0$/.test(r.expr.trim()));
    expect(down?.labels.severity).toBe('page');
    const errors = rules.find((r) => r.expr.includes('status_code=~"5.."'));
    expect(errors?.expr).toContain('http_request_duration_seconds_count{job="offramp", status_code=~"5.."}');
    expect(errors?.expr).toMatch(/\/\s*sum by \(service\) \(rate\(http_request_duration_seconds_count\{job="offramp"\}/);
    expect(errors?.labels.severity).toBe('page');
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
