import { AckPolicy, DeliverPolicy, type ConsumerMessages } from '@nats-io/jetstream';
import { z } from 'zod';
import { makeEnvelope, newId, rpcRoute, serveRpcs, type Logger, type Messaging } from '@offramp/kit';
import {
  decimalToMinor,
  envelopeHeader,
  ok,
  pspAlfredCommands,
  pspAlfredEvents,
  pspAlfredRpc,
  refuse,
  riskEvents,
  riskRpc,
  withdrawalEvents,
  type ErrorCode,
  type MessageDef,
  type OfframpStatus,
  type RiskDecision,
} from '@offramp/contracts';
import type { PartnerOrder } from '../src/withdrawals/decide.ts';

/**
 * The risk and psp-alfred services as the sessions tests need them, played over the real bus: rpc
 * responders on their subjects, durable JetStream consumers of what sessions sends them, and real
 * envelopes published for their events.
 */

/** Publishes an event as its owning service would (through its outbox relay): `Nats-Msg-Id` = envelope id. */
export async function publishEvent<S extends z.ZodType>(messaging: Messaging, def: MessageDef<S>, payload: z.output<S>) {
  const envelope = makeEnvelope(def, payload, {
    correlationId: String((payload as { withdrawalId?: string }).withdrawalId ?? 'test'),
    traceId: newId(),
  });
  await publishEnvelope(messaging, def.subject, envelope);
  return envelope;
}

/** Publishes an envelope; another `msgId` gets a copy past JetStream's duplicate window, as a redelivery would. */
export async function publishEnvelope(messaging: Messaging, subject: string, envelope: { id: string }, msgId = envelope.id) {
  await messaging.js.publish(messaging.wire(subject), JSON.stringify(envelope), { msgID: msgId });
}

/** A durable consumer of one subject that hands each parsed message to `handle`, then acks it. */
async function follow<S extends z.ZodType>(
  messaging: Messaging,
  stream: string,
  name: string,
  def: MessageDef<S>,
  handle: (payload: z.output<S>) => Promise<void>,
  log: Logger,
) {
  const streamName = messaging.streamName(stream);
  await messaging.jsm.consumers.add(streamName, {
    durable_name: name,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: messaging.wire(def.subject),
    ack_wait: 5_000_000_000,
  });
  const messages: ConsumerMessages = await (await messaging.js.consumers.get(streamName, name)).consume({ max_messages: 32 });
  const loop = (async () => {
    for await (const m of messages) {
      try {
        const envelope = envelopeHeader.extend({ payload: z.unknown() }).parse(m.json());
        await handle(def.payload.parse(envelope.payload));
        m.ack();
      } catch (err) {
        log.error({ err }, 'player failed on a message');
        m.nak(100);
      }
    }
  })();
  return async () => {
    await messages.close();
    await loop;
  };
}

export interface RiskPlayer {
  frozen: boolean;
  limitExceeded: boolean;
  /** The decision per trader (default approve); `hold` publishes nothing. */
  decisions: Map<string, RiskDecision | 'hold'>;
  checkInitiateCalls: string[];
  debited: z.output<typeof withdrawalEvents.debited.payload>[];
  stop(): Promise<void>;
}

export async function playRisk(messaging: Messaging, log: Logger): Promise<RiskPlayer> {
  const decided = new Set<string>();
  const freezeRefusal = () => refuse('ALFRED_WITHDRAWALS_FROZEN', 'Withdrawals are frozen');
  const player: Omit<RiskPlayer, 'stop'> = {
    frozen: false,
    limitExceeded: false,
    decisions: new Map(),
    checkInitiateCalls: [],
    debited: [],
  };
  const rpc = serveRpcs({ messaging, log, queue: 'risk' }, [
    rpcRoute(riskRpc.checkSession, async () => {
      if (player.frozen) return freezeRefusal();
      if (player.limitExceeded) return refuse('LIMIT_EXCEEDED', 'daily amount exceeded');
      return ok({ allowed: true as const });
    }),
    rpcRoute(riskRpc.checkInitiate, async (req) => {
      player.checkInitiateCalls.push(req.traderId);
      return player.frozen ? freezeRefusal() : ok({ allowed: true as const });
    }),
  ]);
  const stopFollowing = await follow(
    messaging,
    'EVENTS',
    'risk-player',
    withdrawalEvents.debited,
    async (d) => {
      player.debited.push(d);
      const decision = player.decisions.get(d.traderId) ?? 'approve';
      // Risk decides once per withdrawal, however often `debited` arrives.
      if (decision === 'hold' || decided.has(d.withdrawalId)) return;
      decided.add(d.withdrawalId);
      const reasons = decision === 'approve' ? [] : [{ code: decision === 'review' ? 'kyt_suspicious' : 'kyt_blocked', detail: 'test' }];
      await publishEvent(messaging, riskEvents.decided, { withdrawalId: d.withdrawalId, traderId: d.traderId, decision, reasons });
    },
    log,
  );
  return Object.assign(player, {
    async stop() {
      await rpc.drain();
      await stopFollowing();
    },
  });
}

/** success: created, intermediate statuses, COMPLETED; failure: created, FAILED; refuse: offramp-refused; manual: nothing. */
export type OfframpScenario = 'success' | 'failure' | 'refuse' | 'manual';

export interface PspPlayer {
  countries: Map<string, string>;
  eligibilityRefusal: Map<string, ErrorCode>;
  scenarios: Map<string, OfframpScenario>;
  /** Every createOfframp command received, in order (re-sends included). */
  createOfframps: z.output<typeof pspAlfredCommands.createOfframp.payload>[];
  /** Every reconcile-offramp command received (withdrawal ids), in order. */
  reconciles: string[];
  /** What orderState answers per withdrawal; without an entry: `live` once the order was made, else `none`. */
  orders: Map<string, PartnerOrder>;
  /** orderState requests, with their fence. */
  orderStateCalls: { withdrawalId: string; fence: boolean }[];
  /** When set, orderState answers this refusal (Alfred unreachable behind psp-alfred). */
  orderStateRefusal: ErrorCode | null;
  /** When set, orderState answers only once it settles (psp-alfred not answering in time). */
  orderStateStall: Promise<void> | null;
  transactionOf(withdrawalId: string): string;
  emit(withdrawalId: string, status: OfframpStatus, failureReason?: string | null): Promise<void>;
  stop(): Promise<void>;
}

export const fiatAccountId = (traderId: string) => `fa-${traderId}`;

/** 1 USDT = 5 units of the fiat currency, whatever the currency. */
export const quoteMinor = (fiatAmount: string) => decimalToMinor(fiatAmount, 6)! / 5n;

export async function playPspAlfred(messaging: Messaging, log: Logger, defaultScenario: OfframpScenario = 'success'): Promise<PspPlayer> {
  const created = new Set<string>();
  const transactionOf = (withdrawalId: string) => `tx-${withdrawalId}`;
  const player = {
    countries: new Map<string, string>(),
    eligibilityRefusal: new Map<string, ErrorCode>(),
    scenarios: new Map<string, OfframpScenario>(),
    createOfframps: [] as PspPlayer['createOfframps'],
    reconciles: [] as string[],
    orders: new Map<string, PartnerOrder>(),
    orderStateCalls: [] as PspPlayer['orderStateCalls'],
    orderStateRefusal: null as ErrorCode | null,
    orderStateStall: null as Promise<void> | null,
    transactionOf,
    async emit(withdrawalId: string, status: OfframpStatus, failureReason: string | null = null) {
      await publishEvent(messaging, pspAlfredEvents.offrampStatusChanged, {
        withdrawalId,
        transactionId: transactionOf(withdrawalId),
        status,
        failureReason,
        source: 'webhook',
      });
    },
  };
  const rpc = serveRpcs({ messaging, log, queue: 'psp-alfred' }, [
    rpcRoute(pspAlfredRpc.eligibility, async (req) => {
      const refusal = player.eligibilityRefusal.get(req.traderId);
      if (refusal) return refuse(refusal, 'not eligible');
      return ok({ eligible: true as const, country: player.countries.get(req.traderId) ?? 'BR', rails: ['PIX' as const] });
    }),
    rpcRoute(pspAlfredRpc.getDestination, async (req) => {
      if (req.fiatAccountId !== fiatAccountId(req.traderId)) return refuse('FIAT_ACCOUNT_NOT_FOUND', 'Fiat account not found');
      const fiatAccount = {
        fiatAccountId: req.fiatAccountId,
        type: 'PIX' as const,
        maskedNumber: '****6789',
        accountHolderName: 'Ana Souza',
        bankName: null,
        createdAt: new Date().toISOString(),
      };
      return ok({
        fiatAccount,
        country: player.countries.get(req.traderId) ?? 'BR',
        kycName: 'Ana Souza',
        destinationFingerprint: `fp-${req.traderId}`,
      });
    }),
    rpcRoute(pspAlfredRpc.orderState, async (req) => {
      player.orderStateCalls.push({ withdrawalId: req.withdrawalId, fence: req.fence });
      await player.orderStateStall;
      if (player.orderStateRefusal) return refuse(player.orderStateRefusal, 'Alfred did not answer');
      const made = created.has(req.withdrawalId);
      const order: PartnerOrder = player.orders.get(req.withdrawalId) ?? {
        state: made ? 'live' : 'none',
        transactionId: made ? transactionOf(req.withdrawalId) : null,
        status: made ? 'CREATED' : null,
        failureReason: null,
      };
      return ok(order);
    }),
    rpcRoute(pspAlfredRpc.quote, async (req) =>
      ok({
        quoteId: newId(),
        fiatAmount: req.fiatAmount,
        fiatCurrency: req.fiatCurrency,
        cryptoAmountMinor: quoteMinor(req.fiatAmount),
        rate: '5.00',
        fees: [],
        expiresAt: new Date(Date.now() + 60_000).toISOString(),
      }),
    ),
  ]);
  const stopFollowing = await follow(
    messaging,
    'COMMANDS',
    'psp-alfred-player',
    pspAlfredCommands.createOfframp,
    async (cmd) => {
      player.createOfframps.push(cmd);
      const scenario = player.scenarios.get(cmd.traderId) ?? defaultScenario;
      // psp-alfred is idempotent by withdrawal id: a re-sent command creates nothing new.
      if (scenario === 'manual' || created.has(cmd.withdrawalId)) return;
      created.add(cmd.withdrawalId);
      await walk(messaging, player, cmd.withdrawalId, cmd.cryptoAmountMinor, scenario);
    },
    log,
  );
  const stopReconciles = await follow(
    messaging,
    'COMMANDS',
    'psp-alfred-player-reconcile',
    pspAlfredCommands.reconcileOfframp,
    async (cmd) => void player.reconciles.push(cmd.withdrawalId),
    log,
  );
  return Object.assign(player, {
    async stop() {
      await rpc.drain();
      await stopFollowing();
      await stopReconciles();
    },
  });
}

async function walk(
  messaging: Messaging,
  player: Pick<PspPlayer, 'emit' | 'transactionOf'>,
  withdrawalId: string,
  cryptoAmountMinor: bigint,
  scenario: OfframpScenario,
) {
  if (scenario === 'refuse') {
    await publishEvent(messaging, pspAlfredEvents.offrampRefused, {
      withdrawalId,
      partnerCode: 110001,
      message: 'fiat account rejected by Alfred',
    });
    return;
  }
  const transactionId = player.transactionOf(withdrawalId);
  await publishEvent(messaging, pspAlfredEvents.offrampCreated, {
    withdrawalId,
    transactionId,
    depositAddress: '0xdeposit',
    chain: 'TRON',
    cryptoAmountMinor,
  });
  if (scenario === 'failure') return player.emit(withdrawalId, 'FAILED', 'QA_SIMULATED_FAILURE');
  for (const status of ['ON_CHAIN_DEPOSIT_RECEIVED', 'TRADE_COMPLETED', 'FIAT_TRANSFER_INITIATED', 'FIAT_TRANSFER_COMPLETED'] as const)
    await player.emit(withdrawalId, status);
}
