import { callRpc, makeEnvelope, migrate, newId, type Messaging } from '@offramp/kit';
import { eventually, testInfra, testLogger, testMessaging, uniqueName } from '@offramp/kit/testing';
import { riskEvents, withdrawalEvents, type Envelope, type RpcDef, type WithdrawalDebited } from '@offramp/contracts';
import type { z } from 'zod';
import { buildRisk, openRiskDatabase, type RiskDeps } from '../src/app.ts';
import { readRiskConfig } from '../src/config.ts';

export { debited } from './fixtures.ts';

export type TestRisk = Awaited<ReturnType<typeof startTestRisk>>;
type Decided = z.output<typeof riskEvents.decided.payload>;

/** A risk service on its own schema and NATS namespace, against the real Postgres and NATS. */
export async function startTestRisk(opts: Pick<RiskDeps, 'consumer' | 'relay'> = {}) {
  const { databaseUrl, natsUrl } = testInfra();
  const messaging = await testMessaging('risk-test');
  const config = readRiskConfig({ DATABASE_URL: databaseUrl, NATS_URL: natsUrl, DB_SCHEMA: uniqueName('risk_t'), DB_POOL_MAX: '5' });
  const db = await openRiskDatabase(config);
  await migrate(db);
  const log = testLogger('risk');
  let app = await buildRisk({ config, db, messaging, log, ...opts });
  const call = <D extends RpcDef>(def: D, req: z.output<D['request']>) => callRpc(messaging, def, req, { timeoutMs: 30_000 });

  return {
    config,
    db,
    messaging: messaging as Messaging,
    get app() {
      return app;
    },
    call,
    async restart(next: Pick<RiskDeps, 'consumer' | 'relay'> = {}) {
      await app.close();
      app = await buildRisk({ config, db, messaging, log, ...next });
    },
    /** Rows of a query against the service's schema. */
    rows: <T>(sql: string, params: unknown[] = []) => db.em.fork().execute<T[]>(sql, params),
    /** Publishes a real `evt.withdrawals.debited.v1` envelope, as sessions' outbox relay would. */
    async publishDebited(payload: WithdrawalDebited, envelope?: Envelope<unknown>, msgID?: string) {
      const env = envelope ?? makeEnvelope(withdrawalEvents.debited, payload, { correlationId: payload.withdrawalId, traceId: newId() });
      await messaging.js.publish(messaging.wire(withdrawalEvents.debited.subject), JSON.stringify(env), { msgID: msgID ?? env.id });
      return env;
    },
    /** Publishes a debited event and waits until its decision is recorded and its event published. */
    async decideOne(payload: WithdrawalDebited) {
      const env = await this.publishDebited(payload);
      await eventually(`the decision of ${payload.withdrawalId}`, async () => (await this.rows('select 1 from decisions where withdrawal_id = ?', [payload.withdrawalId])).length === 1);
      await app.relay.flush();
      return env;
    },
    /** Every `evt.risk.decided.v1` on the EVENTS stream. */
    async decidedEvents(): Promise<Envelope<Decided>[]> {
      const all = await readStream(messaging, 'EVENTS', riskEvents.decided.subject);
      return all.map((m) => m.data as Envelope<Decided>);
    },
    async cleanup() {
      await app.close();
      await db.em.fork().execute(`drop schema if exists "${config.DB_SCHEMA}" cascade`);
      await db.close();
      await messaging.cleanup();
    },
  };
}

/** Reads every message of a stream subject through an ephemeral ordered consumer. */
export async function readStream(messaging: Messaging, stream: string, subject: string): Promise<{ id: string; data: unknown }[]> {
  const name = messaging.streamName(stream);
  const info = await messaging.jsm.streams.info(name);
  const out: { id: string; data: unknown }[] = [];
  if (info.state.messages === 0) return out;
  const consumer = await messaging.js.consumers.get(name);
  for (;;) {
    const m = await consumer.next({ expires: 1_000 });
    if (!m) break;
    if (m.subject === messaging.wire(subject)) out.push({ id: m.headers?.get('Nats-Msg-Id') ?? '', data: m.json() });
    if (m.info.pending === 0) break;
  }
  return out;
}
