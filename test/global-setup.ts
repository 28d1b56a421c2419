import { acceptsConnections, dockerAnswers } from '../tools/stack/src/probes.ts';
import type { TestProject } from 'vitest/node';

/**
 * Where the tests find Postgres and NATS JetStream, in this order: DATABASE_URL and NATS_URL from
 * the environment; containers started through testcontainers when a Docker engine answers; the
 * conventional local services (127.0.0.1:5432 database `test`, 127.0.0.1:4222) when both answer;
 * otherwise a clear failure. Tests isolate themselves by schema and NATS namespace.
 */
declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    natsUrl: string;
  }
}

const localDatabaseUrl = 'postgres://postgres@127.0.0.1:5432/test';
const localNatsUrl = 'nats://127.0.0.1:4222';

export default async function setup(project: TestProject) {
  const stops: (() => Promise<unknown>)[] = [];
  let databaseUrl = process.env.DATABASE_URL;
  let natsUrl = process.env.NATS_URL;
  let source = 'environment';
  if (!databaseUrl || !natsUrl) {
    if (await dockerAnswers()) {
      const { GenericContainer, Wait } = await import('testcontainers');
      if (!databaseUrl) {
        const pg = await new GenericContainer('postgres:16-alpine')
          .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: 'trust', POSTGRES_DB: 'test' })
          .withExposedPorts(5432)
          .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
          .start();
        stops.push(() => pg.stop());
        databaseUrl = `postgres://postgres@${pg.getHost()}:${pg.getMappedPort(5432)}/test`;
      }
      if (!natsUrl) {
        const nats = await new GenericContainer('nats:2.10-alpine').withCommand(['-js']).withExposedPorts(4222).start();
        stops.push(() => nats.stop());
        natsUrl = `nats://${nats.getHost()}:${nats.getMappedPort(4222)}`;
      }
      source = 'testcontainers';
    } else if ((await acceptsConnections(5432)) && (await acceptsConnections(4222))) {
      databaseUrl ??= localDatabaseUrl;
      natsUrl ??= localNatsUrl;
      source = 'local services on 127.0.0.1';
    } else {
      throw new Error(
        'Tests need PostgreSQL and NATS JetStream: set DATABASE_URL and NATS_URL, or run a Docker engine ' +
          '(testcontainers starts both), or run them locally on 127.0.0.1:5432 (database "test") and 127.0.0.1:4222 (nats-server -js).',
      );
    }
  }
  process.stdout.write(`test infrastructure (${source}): postgres ${new URL(databaseUrl!).host}, nats ${natsUrl}\n`);
  project.provide('databaseUrl', databaseUrl!);
  project.provide('natsUrl', natsUrl!);
  return async () => {
    for (const stop of stops) await stop();
  };
}
