import { makeEnvelope, newId, type ServiceHooks } from '@offramp/kit';
import { eventually, readStream, startTestService } from '@offramp/kit/testing';
import { riskEvents, withdrawalEvents, type Envelope, type WithdrawalDebited } from '@offramp/contracts';
import { z } from 'zod';
import { buildRisk, openRiskDatabase } from '../src/app.ts';
import { readRiskConfig } from '../src/config.ts';

export { debited } from './fixtures.ts';

export type TestRisk = Awaited<ReturnType<typeof startTestRisk>>;
type Decided = z.output<typeof riskEvents.decided.payload>;

/** A risk service on its own schema and NATS namespace, against the real Postgres and NATS; `env` adds to or overrides its settings. */
export async function startTestRisk(hooks?: ServiceHooks, env: Record<string, string> = {}) {
  const risk = await startTestService({
    name: 'risk',
    readConfig: readRiskConfig,
    env: { DB_POOL_MAX: '5', ...env },
    openDatabase: openRiskDatabase,
    build: buildRisk,
    hooks,
  });
  const { messaging } = risk;

  /** Publishes a real `evt.withdrawals.debited.v1` envelope, as sessions' outbox relay would. */
  async function publishDebited(payload: WithdrawalDebited, envelope?: Envelope<unknown>, msgID?: string) {
    const env = envelope ?? makeEnvelope(withdrawalEvents.debited, payload, { correlationId: payload.withdrawalId, traceId: newId() });
    await messaging.js.publish(messaging.wire(withdrawalEvents.debited.subject), JSON.stringify(env), { msgID: msgID ?? env.id });
    return env;
  }

  return Object.assign(risk, {
    publishDebited,
    /** Publishes a debited event and waits until its decision is recorded and its event published. */
    async decideOne(payload: WithdrawalDebited) {
      const env = await publishDebited(payload);
      await eventually(
        `the decision of ${payload.withdrawalId}`,
        async () => (await risk.rows(z.unknown(), 'select 1 from decisions where withdrawal_id = ?', [payload.withdrawalId])).length === 1,
      );
      await risk.app.relay.flush();
      return env;
    },
    /** Every `evt.risk.decided.v1` on the EVENTS stream. */
    async decidedEvents(): Promise<Envelope<Decided>[]> {
      const all = await readStream(messaging, 'EVENTS', riskEvents.decided.subject);
      return all.map((m) => m.data as Envelope<Decided>);
    },
  });
}
