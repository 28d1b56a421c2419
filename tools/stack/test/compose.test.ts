import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { loadConfig } from '@offramp/kit';
import { gatewayConfig } from '@offramp/gateway';
import { ledgerConfig } from '@offramp/ledger';
import { notifierConfig } from '@offramp/notifier';
import { pspAlfredConfig } from '@offramp/psp-alfred';
import { riskConfig } from '@offramp/risk';
import { sessionsConfig } from '@offramp/sessions';
import { sandboxConfig } from '@offramp/alfred-sandbox';
import { repoRoot } from '../src/config.ts';
import { services as registry } from '../src/services.ts';

// There is no Docker engine on the development machine: docker-compose.yml and the image are
// checked here by parsing them against what the services actually read.

type Env = Record<string, string>;

/** Each process's config schema; a new service folder without an entry here fails the test. */
const schemas: Record<string, z.ZodObject> = {
  gateway: gatewayConfig,
  ledger: ledgerConfig,
  notifier: notifierConfig,
  'psp-alfred': pspAlfredConfig,
  risk: riskConfig,
  sessions: sessionsConfig,
  'alfred-sandbox': sandboxConfig,
};

const scalar = z.union([z.string(), z.number(), z.boolean()]).transform(String);
const composeService = z.looseObject({
  image: z.string().optional(),
  environment: z.record(z.string(), scalar).default({}),
  ports: z.array(z.string()).default([]),
  depends_on: z.record(z.string(), z.object({ condition: z.string() })).default({}),
  healthcheck: z.looseObject({ test: z.array(z.string()).optional(), disable: z.boolean().optional() }).optional(),
  command: z.array(z.string()).optional(),
  volumes: z.array(z.string()).optional(),
});
// strictObject: a top-level key Compose v1 (1.29) does not know (`name:`) fails here as it fails there.
const composeFile = z.strictObject({ services: z.record(z.string(), composeService), volumes: z.record(z.string(), z.unknown()) });
type ComposeService = z.infer<typeof composeService>;

const composePath = path.join(repoRoot, 'docker-compose.yml');
const compose = composeFile.parse(
  Object.fromEntries(
    Object.entries(parse(readFileSync(composePath, 'utf8'), { merge: true }) as object).filter(([key]) => !key.startsWith('x-')),
  ),
);
const serviceFolders = readdirSync(path.join(repoRoot, 'services'), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name);
const processes = [...serviceFolders, 'alfred-sandbox'];

function service(name: string): ComposeService {
  const found = compose.services[name];
  if (!found) throw new Error(`docker-compose.yml has no service ${name}`);
  return found;
}

/** What compose does with `${VAR:-default}` when VAR is unset; a bare `${VAR}` would need the caller's env. */
function interpolate(value: string): string {
  return value.replace(/\$\{([A-Z0-9_]+)(?::?-([^}]*))?\}/g, (_, name: string, fallback: string | undefined) => {
    if (fallback === undefined) throw new Error(`\${${name}} has no default: the QA stack must start with no environment`);
    return fallback;
  });
}

function envOf(name: string): Env {
  return Object.fromEntries(Object.entries(service(name).environment).map(([key, value]) => [key, interpolate(value)]));
}

/** Keys the schema cannot fill in itself: parsing them from undefined fails. */
function requiredKeys(schema: z.ZodObject): string[] {
  return Object.entries(schema.shape)
    .filter(([, field]) => !(field as z.ZodType).safeParse(undefined).success)
    .map(([key]) => key);
}

function entrypoint(serviceName: string, command: string): string {
  return execFileSync('sh', [path.join(repoRoot, 'deploy/compose/entrypoint.sh'), command], {
    env: { PATH: process.env.PATH, SERVICE: serviceName, APP_ROOT: repoRoot },
    encoding: 'utf8',
    stdio: 'pipe',
  }).trim();
}

/** `<compose> config` with no environment but PATH (every default applies), parsed. */
function composeConfig(command: string[]): { services: Record<string, unknown> } {
  const [bin, ...args] = command;
  const out = execFileSync(bin!, args, {
    cwd: repoRoot,
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return parse(out) as { services: Record<string, unknown> };
}

describe('docker-compose.yml', () => {
  it('when parsed, then every folder of services/ and the sandbox is a compose service with a config schema', () => {
    expect(serviceFolders.length).toBeGreaterThanOrEqual(6);
    for (const name of processes) {
      expect(compose.services, name).toHaveProperty(name);
      expect(schemas, `no config schema listed for ${name} in compose.test.ts`).toHaveProperty(name);
    }
    expect(Object.keys(compose.services)).toEqual(expect.arrayContaining(['postgres', 'nats', 'mailpit', 'migrate']));
  });

  it('when each service is read, then it sets every required variable of its config schema and HOST=0.0.0.0', () => {
    for (const name of processes) {
      const env = envOf(name);
      const schema = schemas[name] as z.ZodObject;
      for (const key of requiredKeys(schema)) expect(env, `${name} lacks ${key}`).toHaveProperty(key);
      expect(env.HOST, name).toBe('0.0.0.0');
      expect(env.SERVICE, name).toBe(name);
    }
    expect(requiredKeys(ledgerConfig)).toEqual(['DATABASE_URL']);
    expect(requiredKeys(pspAlfredConfig)).toEqual(
      expect.arrayContaining(['DATABASE_URL', 'ALFRED_API_KEY', 'ALFRED_API_SECRET', 'ALFRED_WEBHOOK_SECRET']),
    );
  });

  it("when each service's environment is loaded with the defaults interpolated, then its config schema accepts it", () => {
    for (const name of processes) {
      const config = loadConfig(schemas[name] as z.ZodObject, envOf(name)) as { PORT: number; HOST: string };
      const registered = registry.find((s) => s.name === name);
      expect(registered, `${name} missing from tools/stack/src/services.ts`).toBeDefined();
      expect(config.PORT, name).toBe(registered?.port);
      expect(config.HOST).toBe('0.0.0.0');
    }
    const gateway = loadConfig(gatewayConfig, envOf('gateway'));
    expect(gateway.DEV_ENDPOINTS).toBe(true);
    expect(gateway.JWT_SECRET?.length).toBeGreaterThanOrEqual(32);
  });

  it('when the order of start is read, then migrate waits for a healthy postgres and every service for migrate and a healthy nats', () => {
    expect(service('migrate').depends_on.postgres?.condition).toBe('service_healthy');
    expect(envOf('migrate')).toMatchObject({ SERVICE: 'migrate', DATABASE_URL: envOf('ledger').DATABASE_URL });
    expect(service('migrate').healthcheck?.disable).toBe(true);
    for (const name of serviceFolders) {
      const dependsOn = service(name).depends_on;
      expect(dependsOn.migrate?.condition, name).toBe('service_completed_successfully');
      expect(dependsOn.nats?.condition, name).toBe('service_healthy');
    }
    expect(service('psp-alfred').depends_on['alfred-sandbox']?.condition).toBe('service_healthy');
    for (const name of ['ledger', 'risk', 'sessions', 'psp-alfred', 'notifier']) {
      expect(service('gateway').depends_on[name]?.condition, `gateway waits for ${name}`).toBe('service_healthy');
    }
  });

  it('when the infrastructure is read, then postgres 16 and nats 2.10 with JetStream keep volumes and have healthchecks', () => {
    expect(service('postgres').image).toMatch(/^postgres:16/);
    expect(service('postgres').volumes).toEqual(['postgres-data:/var/lib/postgresql/data']);
    expect(service('postgres').healthcheck?.test?.join(' ')).toContain('pg_isready');
    expect(service('nats').image).toMatch(/^nats:2\.1\d/);
    expect(service('nats').command).toContain('-js');
    expect(service('nats').volumes).toEqual(['nats-data:/data']);
    expect(service('nats').healthcheck?.test?.join(' ')).toContain('/healthz');
    expect(Object.keys(compose.volumes)).toEqual(expect.arrayContaining(['postgres-data', 'nats-data']));
    for (const name of processes) {
      expect(service(name).healthcheck?.test, name).toEqual(['CMD', '/app/deploy/compose/entrypoint.sh', 'healthcheck']);
    }
  });

  it('when the ports are read, then the gateway, psp-alfred, the sandbox and the mailpit UI are published on 127.0.0.1 only, and nothing else is', () => {
    expect(service('gateway').ports).toEqual(['127.0.0.1:8080:8080']);
    expect(service('psp-alfred').ports).toEqual(['127.0.0.1:8081:8081']);
    expect(service('alfred-sandbox').ports).toEqual(['127.0.0.1:8090:8090']);
    expect(service('mailpit').ports).toEqual(['127.0.0.1:8025:8025']);
    const published = Object.entries(compose.services).flatMap(([name, s]) => s.ports.map((p) => `${name} ${p}`));
    expect(published).toHaveLength(4);
    for (const port of published) expect(port).toMatch(/ 127\.0\.0\.1:\d+:\d+$/);
  });

  it('when the healthchecks are read, then postgres, nats, mailpit, the sandbox and every service have one, and each waits for what it uses to be healthy', () => {
    for (const name of ['postgres', 'nats', 'mailpit', ...processes]) {
      expect(service(name).healthcheck?.test?.length, name).toBeGreaterThan(0);
      expect(service(name).healthcheck?.disable, name).toBeUndefined();
    }
    expect(service('mailpit').healthcheck?.test).toEqual(['CMD', '/mailpit', 'readyz']);
    expect(service('notifier').depends_on.mailpit?.condition).toBe('service_healthy');
    // Every condition names a service of the file and is one Compose v1 (1.29) knows.
    for (const [name, s] of Object.entries(compose.services)) {
      for (const [dependency, { condition }] of Object.entries(s.depends_on)) {
        expect(compose.services, `${name} depends on ${dependency}`).toHaveProperty(dependency);
        expect(['service_started', 'service_healthy', 'service_completed_successfully'], `${name} -> ${dependency}`).toContain(condition);
        if (dependency !== 'migrate') expect(condition, `${name} -> ${dependency}`).toBe('service_healthy');
      }
    }
  });

  it('when docker-compose (v1) is installed, then `docker-compose config` accepts the file (in CI it must be installed)', () => {
    const v1 = spawnSync('docker-compose', ['version', '--short'], { encoding: 'utf8' });
    if (process.env.CI) expect(v1.status, 'docker-compose on PATH in CI (.ci/run installs it)').toBe(0);
    if (v1.status === 0) {
      expect(v1.stdout.trim()).toMatch(/^1\./);
      const config = composeConfig(['docker-compose', '-f', composePath, 'config']);
      expect(Object.keys(config.services).sort()).toEqual(Object.keys(compose.services).sort());
    }
    // What v1 refuses, checked whether or not it is installed: the strict parse above has no `name:`.
    expect(readFileSync(composePath, 'utf8')).not.toMatch(/^name:/m);
  });

  it('when the Compose v2 plugin is available, then `docker compose config` accepts the file', () => {
    const v2 = spawnSync('docker', ['compose', 'version', '--short'], { encoding: 'utf8' });
    if (v2.status === 0) {
      const config = composeConfig(['docker', 'compose', '-f', composePath, 'config']);
      expect(Object.keys(config.services).sort()).toEqual(Object.keys(compose.services).sort());
    }
    // Without the plugin, the file still parses as YAML with merge keys, as v2 reads it.
    expect(Object.keys(compose.services).length).toBeGreaterThanOrEqual(11);
  });

  it('when psp-alfred and the sandbox are read, then they share the credentials and point at each other', () => {
    const psp = envOf('psp-alfred');
    const sandbox = envOf('alfred-sandbox');
    for (const key of ['ALFRED_API_KEY', 'ALFRED_API_SECRET', 'ALFRED_WEBHOOK_SECRET', 'ALFRED_WEBHOOK_SIGNATURE_FORMAT']) {
      expect(psp[key], key).toBeDefined();
      expect(sandbox[key], key).toBe(psp[key]);
    }
    expect(sandbox.ALFRED_WEBHOOK_URL).toBe('http://psp-alfred:8081/psp/alfred/webhook');
    expect(psp.ALFRED_BASE_URL).toBe('http://alfred-sandbox:8090/api/v1/third-party-service/penny');
    expect(envOf('notifier').SMTP_URL).toBe('smtp://mailpit:1025');
  });
});

describe('the image', () => {
  it("when the entrypoint resolves a service, then it runs the registry's entry file on the registry's port", () => {
    for (const name of processes) {
      const registered = registry.find((s) => s.name === name);
      expect(entrypoint(name, 'entry'), name).toBe(registered?.entry);
      expect(entrypoint(name, 'port'), name).toBe(String(registered?.port));
    }
    expect(entrypoint('migrate', 'entry')).toBe('tools/stack/src/migrate-cli.ts');
    expect(() => entrypoint('no-such-service', 'entry')).toThrow();
  });

  it('when the Dockerfile is read, then it runs production dependencies on node:24-slim pinned by digest, as a non-root user with a healthcheck', () => {
    const dockerfile = readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:24-slim@sha256:[0-9a-f]{64}$/m);
    // Every stage starts from that pinned image, none from a bare tag.
    const froms = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
    expect(froms.length).toBeGreaterThanOrEqual(4);
    for (const from of froms) expect(from).toBe('${NODE_IMAGE}');
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK /m);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["\/app\/deploy\/compose\/entrypoint\.sh"\]$/m);
    expect(readFileSync(path.join(repoRoot, 'deploy/compose/entrypoint.sh'), 'utf8')).toContain(
      'http://127.0.0.1:${process.argv[1]}/healthz',
    );
  });

  it('when the image is built, then tests, benchmarks and development tools stay out, and the sandbox only with INCLUDE_SANDBOX=true (the QA compose build)', () => {
    const dockerfile = readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8');
    const ignored = readFileSync(path.join(repoRoot, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    expect(ignored).toEqual(
      expect.arrayContaining(['**/test', '**/*.test.ts', 'tools/bench/src', 'tools/e2e', 'tools/fresh-clone', '.git', '.data', '**/.env']),
    );
    // Every workspace's manifest stays in the context: npm ci installs the workspaces of the lockfile.
    const excludedManifests = ignored.filter((p) => !p.startsWith('!') && /^(services|libs|tools)\/[^/]+$/.test(p));
    for (const folder of excludedManifests.filter((f) => existsSync(path.join(repoRoot, f, 'package.json'))))
      expect(ignored, folder).toContain(`!${folder}/package.json`);
    expect(excludedManifests).toContain('tools/e2e');
    // The runtime stage takes its sources only from the stage that drops the sandbox unless asked.
    const runtime = dockerfile.slice(dockerfile.indexOf('AS runtime'));
    expect(runtime).not.toMatch(/^COPY \. \./m);
    expect(runtime).toMatch(/^COPY --from=sources \/src\/ \.\/$/m);
    expect(dockerfile).toMatch(/^ARG INCLUDE_SANDBOX=false$/m);
    expect(dockerfile).toContain('if [ "$INCLUDE_SANDBOX" != "true" ]; then rm -rf tools/alfred-sandbox/src');
    const composeText = parse(readFileSync(composePath, 'utf8'), { merge: true }) as {
      services: Record<string, { build?: { args?: Record<string, string> } }>;
    };
    for (const name of processes) expect(composeText.services[name]?.build?.args?.INCLUDE_SANDBOX, name).toBe('true');
  });
});
