import { describe, expect, it } from 'vitest';
import type { OfframpStatus, WithdrawalStatus } from '@offramp/contracts';
import { decide, type Decided, type Decision, type PartnerOrder, type WithdrawalEvent } from '../src/withdrawals/decide.ts';

const id = '0190f7a2-0000-7000-8000-000000000001';
const debited = 10_000_000n;

/** A withdrawal as each status normally finds it; `rejected_no_order` was rejected before any order existed. */
const fixtures = {
  pending: { status: 'pending', pspTransactionId: null, hasRiskDecision: false },
  in_review: { status: 'in_review', pspTransactionId: null, hasRiskDecision: true },
  approved: { status: 'approved', pspTransactionId: null, hasRiskDecision: true },
  processing: { status: 'processing', pspTransactionId: 'tx-1', hasRiskDecision: true },
  completed: { status: 'completed', pspTransactionId: 'tx-1', hasRiskDecision: true },
  rejected: { status: 'rejected', pspTransactionId: 'tx-1', hasRiskDecision: true },
  rejected_no_order: { status: 'rejected', pspTransactionId: null, hasRiskDecision: true },
} satisfies Record<string, { status: WithdrawalStatus; pspTransactionId: string | null; hasRiskDecision: boolean }>;
type Fixture = keyof typeof fixtures;
const fixtureNames = Object.keys(fixtures) as Fixture[];

const withdrawal = (f: Fixture | Partial<Decided>): Decided => ({
  id,
  traderId: 'trader-1',
  debitedMinor: debited,
  fiatAmount: '50.00',
  fiatCurrency: 'BRL',
  ...(typeof f === 'string' ? fixtures[f] : { status: 'pending', pspTransactionId: null, hasRiskDecision: false, ...f }),
});

/** One line per decision: outcome, path taken, effects, exceptions (kind/exposure). */
function summary(d: Decision): string {
  if (d.outcome === 'duplicate') return 'duplicate';
  if (d.outcome === 'ask_partner') return 'ask';
  const head = d.outcome === 'apply' ? `apply ${d.steps.map((s) => s.to).join('>') || 'note'}` : `refuse ${d.refusal.code}`;
  const effects = d.effects.map((e) => ` +${e}`).join('');
  const exceptions = d.exceptions.map((e) => ` !${e.kind}/${e.exposure}`).join('');
  return `${head}${effects}${exceptions}`;
}

const order = (state: PartnerOrder['state'], status: OfframpStatus | null = null): PartnerOrder => ({
  state,
  transactionId: state === 'none' ? null : 'tx-1',
  status,
  failureReason: state === 'failed' ? 'BANK_REJECTED' : null,
});
const status = (s: OfframpStatus, transactionId = 'tx-1'): WithdrawalEvent => ({
  kind: 'offramp_status',
  transactionId,
  status: s,
  failureReason: s === 'FAILED' ? 'BANK_REJECTED' : null,
  source: 'webhook',
});
const reject = (partner: PartnerOrder | null): WithdrawalEvent => ({
  kind: 'operator_reject',
  operatorId: 'op-1',
  reason: 'customer asked',
  partner,
});
const complete = (partner: PartnerOrder | null, confirmedOutOfBand = false): WithdrawalEvent => ({
  kind: 'operator_complete',
  operatorId: 'op-1',
  reference: 'REF-1',
  notes: null,
  confirmedOutOfBand,
  partner,
});
const override = (to: WithdrawalStatus, partner: PartnerOrder | null = null, confirmedOutOfBand = false): WithdrawalEvent => ({
  kind: 'operator_override',
  operatorId: 'op-1',
  to,
  reason: 'operator says so',
  reference: null,
  confirmedOutOfBand,
  partner,
});

const ALFRED = 'refuse ALFRED_INCORRECT_STATUS_CHANGE';
const LIVE = 'refuse PARTNER_ORDER_LIVE';
const mismatch = `${ALFRED} !reconciliation_mismatch/none`;
const orphanOrder = `${ALFRED} +reconcile !partner_outcome_after_terminal/none`;

/** Every event against every status: what the decider answers. */
const table: [string, WithdrawalEvent, Record<Fixture, string>][] = [
  [
    'risk approve',
    { kind: 'risk_decided', decision: 'approve', reasons: [] },
    {
      pending: 'apply approved +create_offramp',
      in_review: 'duplicate',
      approved: 'duplicate',
      processing: 'duplicate',
      completed: 'duplicate',
      rejected: 'duplicate',
      rejected_no_order: 'duplicate',
    },
  ],
  [
    'risk review',
    { kind: 'risk_decided', decision: 'review', reasons: [{ code: 'kyt_suspicious', detail: '' }] },
    {
      pending: 'apply in_review',
      in_review: 'duplicate',
      approved: 'duplicate',
      processing: 'duplicate',
      completed: 'duplicate',
      rejected: 'duplicate',
      rejected_no_order: 'duplicate',
    },
  ],
  [
    'risk reject',
    { kind: 'risk_decided', decision: 'reject', reasons: [{ code: 'kyt_blocked', detail: '' }] },
    {
      pending: 'apply rejected +void_hold',
      in_review: 'duplicate',
      approved: 'duplicate',
      processing: 'duplicate',
      completed: 'duplicate',
      rejected: 'duplicate',
      rejected_no_order: 'duplicate',
    },
  ],
  [
    'offramp created',
    { kind: 'offramp_created', transactionId: 'tx-1' },
    {
      pending: mismatch,
      in_review: mismatch,
      approved: 'apply processing',
      processing: 'duplicate',
      completed: 'duplicate',
      rejected: 'duplicate',
      rejected_no_order: orphanOrder,
    },
  ],
  [
    'another order created',
    { kind: 'offramp_created', transactionId: 'tx-2' },
    {
      pending: mismatch,
      in_review: mismatch,
      approved: 'apply processing',
      processing: mismatch,
      completed: mismatch,
      rejected: mismatch,
      rejected_no_order: orphanOrder,
    },
  ],
  [
    'offramp refused',
    { kind: 'offramp_refused', partnerCode: 110001, message: 'no' },
    {
      pending: ALFRED,
      in_review: ALFRED,
      approved: 'apply rejected +void_hold',
      processing: ALFRED,
      completed: ALFRED,
      rejected: 'duplicate',
      rejected_no_order: 'duplicate',
    },
  ],
  ...(['CREATED', 'ON_CHAIN_DEPOSIT_RECEIVED', 'TRADE_COMPLETED', 'FIAT_TRANSFER_INITIATED'] as const).map(
    (s): [string, WithdrawalEvent, Record<Fixture, string>] => [
      `Alfred ${s}`,
      status(s),
      {
        pending: mismatch,
        in_review: mismatch,
        approved: 'apply processing',
        processing: 'apply note',
        completed: 'apply note',
        rejected: 'apply note',
        rejected_no_order: orphanOrder,
      },
    ],
  ),
  [
    'Alfred FIAT_TRANSFER_COMPLETED',
    status('FIAT_TRANSFER_COMPLETED'),
    {
      pending: mismatch,
      in_review: mismatch,
      approved: 'apply processing>completed +post_hold',
      processing: 'apply completed +post_hold',
      completed: 'duplicate',
      rejected: `${ALFRED} !partner_outcome_after_terminal/trader_received_twice`,
      rejected_no_order: `${ALFRED} !partner_outcome_after_terminal/trader_received_twice`,
    },
  ],
  [
    'Alfred FAILED',
    status('FAILED'),
    {
      pending: mismatch,
      in_review: mismatch,
      approved: 'apply processing>rejected +void_hold',
      processing: 'apply rejected +void_hold',
      completed: `${ALFRED} !partner_outcome_after_terminal/trader_received_nothing`,
      rejected: 'duplicate',
      rejected_no_order: 'duplicate',
    },
  ],
  [
    'operator approve',
    { kind: 'operator_approve', operatorId: 'op-1', reason: 'ok' },
    {
      pending: ALFRED,
      in_review: 'apply approved +create_offramp',
      approved: ALFRED,
      processing: ALFRED,
      completed: ALFRED,
      rejected: ALFRED,
      rejected_no_order: ALFRED,
    },
  ],
  [
    'operator process',
    { kind: 'operator_process', operatorId: 'op-1' },
    {
      pending: ALFRED,
      in_review: ALFRED,
      approved: 'apply note +create_offramp',
      processing: ALFRED,
      completed: ALFRED,
      rejected: ALFRED,
      rejected_no_order: ALFRED,
    },
  ],
  [
    'operator reject, Alfred not asked',
    reject(null),
    {
      pending: 'apply rejected +void_hold',
      in_review: 'apply rejected +void_hold',
      approved: 'ask',
      processing: 'ask',
      completed: ALFRED,
      rejected: ALFRED,
      rejected_no_order: ALFRED,
    },
  ],
  ...(['live', 'unknown', 'completed'] as const).map((state): [string, WithdrawalEvent, Record<Fixture, string>] => [
    `operator reject, Alfred ${state}`,
    reject(order(state)),
    {
      pending: 'apply rejected +void_hold',
      in_review: 'apply rejected +void_hold',
      approved: LIVE,
      processing: LIVE,
      completed: ALFRED,
      rejected: ALFRED,
      rejected_no_order: ALFRED,
    },
  ]),
  ...(['failed', 'none'] as const).map((state): [string, WithdrawalEvent, Record<Fixture, string>] => [
    `operator reject, Alfred ${state}`,
    reject(order(state)),
    {
      pending: 'apply rejected +void_hold',
      in_review: 'apply rejected +void_hold',
      approved: 'apply rejected +void_hold',
      processing: 'apply rejected +void_hold',
      completed: ALFRED,
      rejected: ALFRED,
      rejected_no_order: ALFRED,
    },
  ]),
  [
    'operator complete, Alfred not asked',
    complete(null),
    {
      pending: ALFRED,
      in_review: ALFRED,
      approved: ALFRED,
      processing: 'ask',
      completed: ALFRED,
      rejected: ALFRED,
      rejected_no_order: ALFRED,
    },
  ],
  [
    'operator complete, Alfred completed',
    complete(order('completed', 'FIAT_TRANSFER_COMPLETED')),
    {
      pending: ALFRED,
      in_review: ALFRED,
      approved: ALFRED,
      processing: 'apply completed +post_hold',
      completed: ALFRED,
      rejected: ALFRED,
      rejected_no_order: ALFRED,
    },
  ],
  [
    'operator complete, Alfred live',
    complete(order('live', 'FIAT_TRANSFER_INITIATED')),
    {
      pending: ALFRED,
      in_review: ALFRED,
      approved: ALFRED,
      processing: LIVE,
      completed: ALFRED,
      rejected: ALFRED,
      rejected_no_order: ALFRED,
    },
  ],
  [
    'operator complete out of band, Alfred live',
    complete(order('live'), true),
    {
      pending: ALFRED,
      in_review: ALFRED,
      approved: ALFRED,
      processing: 'apply completed +post_hold',
      completed: ALFRED,
      rejected: ALFRED,
      rejected_no_order: ALFRED,
    },
  ],
  [
    'operator complete out of band, Alfred failed',
    complete(order('failed', 'FAILED'), true),
    {
      pending: ALFRED,
      in_review: ALFRED,
      approved: ALFRED,
      processing: ALFRED,
      completed: ALFRED,
      rejected: ALFRED,
      rejected_no_order: ALFRED,
    },
  ],
  [
    'override to approved',
    override('approved'),
    {
      pending: 'apply approved +create_offramp',
      in_review: 'apply approved +create_offramp',
      approved: ALFRED,
      processing: ALFRED,
      completed: ALFRED,
      rejected: ALFRED,
      rejected_no_order: ALFRED,
    },
  ],
  [
    'override to in_review',
    override('in_review'),
    {
      pending: 'apply in_review',
      in_review: ALFRED,
      approved: ALFRED,
      processing: ALFRED,
      completed: ALFRED,
      rejected: ALFRED,
      rejected_no_order: ALFRED,
    },
  ],
  [
    'override to processing',
    override('processing'),
    {
      pending: ALFRED,
      in_review: ALFRED,
      approved: 'apply processing',
      processing: ALFRED,
      completed: ALFRED,
      rejected: ALFRED,
      rejected_no_order: ALFRED,
    },
  ],
  [
    'override to rejected, Alfred live',
    override('rejected', order('live')),
    {
      pending: 'apply rejected +void_hold',
      in_review: 'apply rejected +void_hold',
      approved: LIVE,
      processing: LIVE,
      completed: ALFRED,
      rejected: ALFRED,
      rejected_no_order: ALFRED,
    },
  ],
  [
    'override to rejected, Alfred not asked',
    override('rejected'),
    {
      pending: 'apply rejected +void_hold',
      in_review: 'apply rejected +void_hold',
      approved: 'ask',
      processing: 'ask',
      completed: ALFRED,
      rejected: ALFRED,
      rejected_no_order: ALFRED,
    },
  ],
  [
    'override to completed, Alfred live',
    override('completed', order('live')),
    {
      pending: ALFRED,
      in_review: ALFRED,
      approved: ALFRED,
      processing: LIVE,
      completed: ALFRED,
      rejected: ALFRED,
      rejected_no_order: ALFRED,
    },
  ],
  [
    'override to completed out of band',
    override('completed', order('live'), true),
    {
      pending: ALFRED,
      in_review: ALFRED,
      approved: ALFRED,
      processing: 'apply completed +post_hold',
      completed: ALFRED,
      rejected: ALFRED,
      rejected_no_order: ALFRED,
    },
  ],
  [
    'ledger refused a void (command-refused)',
    { kind: 'ledger_refused', command: 'void', outcome: 'hold_already_posted', transferId: id, attempted: null },
    Object.fromEntries(
      fixtureNames.map((f) => [
        f,
        `apply note !ledger_command_refused/${fixtures[f].status === 'rejected' ? 'trader_received_nothing' : 'none'}`,
      ]),
    ) as Record<Fixture, string>,
  ],
  [
    'ledger refused a post (command-refused)',
    { kind: 'ledger_refused', command: 'post', outcome: 'hold_not_found', transferId: id, attempted: null },
    Object.fromEntries(fixtureNames.map((f) => [f, 'apply note !ledger_command_refused/none'])) as Record<Fixture, string>,
  ],
];

describe('decide: the saga rules as one pure function', () => {
  it('when every event meets every status, then the decision is the one in the table', () => {
    const got: Record<string, Record<string, string>> = {};
    const want: Record<string, Record<string, string>> = {};
    for (const [name, event, expected] of table) {
      want[name] = expected;
      got[name] = Object.fromEntries(fixtureNames.map((f) => [f, summary(decide(withdrawal(f), event))]));
    }
    expect(got).toEqual(want);
  });

  it('when risk decided for a withdrawal an operator already moved, then the decision is refused, not applied', () => {
    expect(summary(decide(withdrawal({ status: 'rejected' }), { kind: 'risk_decided', decision: 'approve', reasons: [] }))).toBe(ALFRED);
  });

  it('when a step is taken, then the patch, the timeline and the status event say who and why', () => {
    const d = decide(withdrawal('approved'), status('FAILED'));
    expect(d).toMatchObject({
      outcome: 'apply',
      steps: [
        { from: 'approved', to: 'processing', actor: 'alfred', reason: 'BANK_REJECTED' },
        { from: 'processing', to: 'rejected', actor: 'alfred', reason: 'BANK_REJECTED' },
      ],
      patch: { pspTransactionId: 'tx-1', failureReason: 'BANK_REJECTED' },
      effects: ['void_hold'],
      timeline: [
        { kind: 'transition', from: 'approved', to: 'processing', actor: 'alfred' },
        { kind: 'transition', from: 'processing', to: 'rejected', actor: 'alfred' },
      ],
    });
    const risk = decide(withdrawal('pending'), {
      kind: 'risk_decided',
      decision: 'review',
      reasons: [{ code: 'kyt_suspicious', detail: 'x' }],
    });
    expect(risk).toMatchObject({
      outcome: 'apply',
      patch: { riskDecision: { decision: 'review' } },
      timeline: [{ kind: 'transition', actor: 'risk', reason: 'kyt_suspicious' }],
    });
    const early = decide(withdrawal('approved'), status('TRADE_COMPLETED'));
    expect(early).toMatchObject({
      outcome: 'apply',
      timeline: [
        { kind: 'transition', from: 'approved', to: 'processing', reason: 'offramp tx-1 reported TRADE_COMPLETED' },
        { kind: 'note', from: 'processing', to: 'processing', reason: 'Alfred status TRADE_COMPLETED (webhook)' },
      ],
    });
  });

  it('when FIAT_TRANSFER_COMPLETED arrives after rejected, then a refused entry and an exception with both states, the reference and the debited amount', () => {
    const d = decide(withdrawal('rejected'), status('FIAT_TRANSFER_COMPLETED'));
    expect(d).toMatchObject({
      outcome: 'refuse',
      refusal: { code: 'ALFRED_INCORRECT_STATUS_CHANGE', from: 'rejected', to: 'completed' },
      timeline: [{ kind: 'refused', from: 'rejected', to: 'completed', actor: 'alfred', refusedCode: 'ALFRED_INCORRECT_STATUS_CHANGE' }],
      exceptions: [
        {
          kind: 'partner_outcome_after_terminal',
          key: `partner_outcome_after_terminal:${id}:FIAT_TRANSFER_COMPLETED`,
          withdrawalId: id,
          traderId: 'trader-1',
          partnerReference: 'tx-1',
          exposure: 'trader_received_twice',
          amountMinor: debited,
          facts: {
            withdrawalStatus: 'rejected',
            partnerStatus: 'FIAT_TRANSFER_COMPLETED',
            debitedMinor: '10000000',
            fiatAmount: '50.00',
            fiatCurrency: 'BRL',
            source: 'webhook',
          },
        },
      ],
    });
  });

  it('when FAILED arrives after completed, then the exception says the trader received nothing, for the debited amount', () => {
    const d = decide(withdrawal('completed'), status('FAILED'));
    expect(d).toMatchObject({
      outcome: 'refuse',
      timeline: [{ kind: 'refused', from: 'completed', to: 'rejected', reason: 'BANK_REJECTED' }],
      exceptions: [
        {
          key: `partner_outcome_after_terminal:${id}:FAILED`,
          exposure: 'trader_received_nothing',
          amountMinor: debited,
          facts: { withdrawalStatus: 'completed', partnerStatus: 'FAILED', failureReason: 'BANK_REJECTED' },
        },
      ],
    });
  });

  it('when an order appears for a withdrawal rejected before any order, then an exception without exposure and psp-alfred asked to reconcile it', () => {
    const created = decide(withdrawal('rejected_no_order'), { kind: 'offramp_created', transactionId: 'tx-9' });
    const reported = decide(withdrawal('rejected_no_order'), status('FIAT_TRANSFER_INITIATED', 'tx-9'));
    for (const d of [created, reported]) {
      expect(d).toMatchObject({
        outcome: 'refuse',
        effects: ['reconcile'],
        exceptions: [
          {
            kind: 'partner_outcome_after_terminal',
            key: `partner_outcome_after_terminal:${id}:order:tx-9`,
            exposure: 'none',
            amountMinor: 0n,
            partnerReference: 'tx-9',
          },
        ],
      });
    }
  });

  it('when the ledger refuses the hold of a transition, then the transition is refused with the attempted step and the exception is keyed by the command', () => {
    const d = decide(withdrawal('processing'), {
      kind: 'ledger_refused',
      command: 'post',
      outcome: 'hold_already_voided',
      transferId: 'post-id',
      attempted: { from: 'processing', to: 'completed', actor: 'alfred' },
    });
    expect(d).toMatchObject({
      outcome: 'refuse',
      refusal: {
        code: 'ALFRED_INCORRECT_STATUS_CHANGE',
        from: 'processing',
        to: 'completed',
        message: 'The ledger refused to post the hold: hold_already_voided',
      },
      timeline: [{ kind: 'refused', from: 'processing', to: 'completed', actor: 'alfred' }],
      exceptions: [
        {
          kind: 'ledger_command_refused',
          key: 'ledger_command_refused:post-id',
          exposure: 'trader_received_twice',
          amountMinor: debited,
          facts: { ledgerOutcome: 'hold_already_voided', command: 'post-hold', attemptedStatus: 'completed' },
        },
      ],
    });
  });

  it('when an operator is refused because of the partner, then the timeline and the message say why', () => {
    const live = decide(withdrawal('processing'), reject(order('live', 'FIAT_TRANSFER_INITIATED')));
    expect(live).toMatchObject({
      outcome: 'refuse',
      refusal: { code: 'PARTNER_ORDER_LIVE', message: expect.stringContaining('live, FIAT_TRANSFER_INITIATED') },
      timeline: [{ kind: 'refused', actor: 'operator:op-1', refusedCode: 'PARTNER_ORDER_LIVE' }],
    });
    const unconfirmed = decide(withdrawal('processing'), complete(order('live')));
    expect(unconfirmed).toMatchObject({
      outcome: 'refuse',
      refusal: { code: 'PARTNER_ORDER_LIVE', message: expect.stringContaining('confirmed_out_of_band: true') },
    });
    const failed = decide(withdrawal('approved'), reject({ state: 'failed', transactionId: 'tx-5', status: 'FAILED', failureReason: 'X' }));
    // The failed order's reference is kept, so its late events read as a reordering, not as an orphan order.
    expect(failed).toMatchObject({ outcome: 'apply', patch: { pspTransactionId: 'tx-5', failureReason: 'customer asked' } });
    expect(
      summary(
        decide(
          { ...withdrawal('approved'), status: 'rejected', pspTransactionId: 'tx-5' },
          { kind: 'offramp_created', transactionId: 'tx-5' },
        ),
      ),
    ).toBe('duplicate');
  });

  describe('reorderings, replayed through the decider', () => {
    /** Applies events in order as the executor would (status and reference), collecting what they caused. */
    function replay(start: Decided, events: WithdrawalEvent[]) {
      let w = start;
      const effects: string[] = [];
      const exceptions: string[] = [];
      const refusals: string[] = [];
      for (const e of events) {
        const d = decide(w, e);
        if (d.outcome === 'apply') {
          w = {
            ...w,
            status: d.steps.at(-1)?.to ?? w.status,
            pspTransactionId: d.patch.pspTransactionId ?? w.pspTransactionId,
            hasRiskDecision: w.hasRiskDecision || d.patch.riskDecision !== undefined,
          };
        }
        if (d.outcome === 'apply' || d.outcome === 'refuse') {
          effects.push(...d.effects);
          exceptions.push(...d.exceptions.map((x) => x.key));
        }
        if (d.outcome === 'refuse') refusals.push(`${d.refusal.from}->${d.refusal.to}`);
      }
      return { status: w.status, effects, exceptions: [...new Set(exceptions)], refusals };
    }
    const permutations = <T>(xs: T[]): T[][] =>
      xs.length <= 1 ? [xs] : xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
    const created: WithdrawalEvent = { kind: 'offramp_created', transactionId: 'tx-1' };

    it('when the success chain arrives in any of its 120 orders, then completed with exactly one post and nothing refused', () => {
      const chain = [
        created,
        status('ON_CHAIN_DEPOSIT_RECEIVED'),
        status('TRADE_COMPLETED'),
        status('FIAT_TRANSFER_INITIATED'),
        status('FIAT_TRANSFER_COMPLETED'),
      ];
      const orders = permutations(chain);
      expect(orders).toHaveLength(120);
      for (const events of orders) {
        expect(replay(withdrawal('approved'), events)).toEqual({
          status: 'completed',
          effects: ['post_hold'],
          exceptions: [],
          refusals: [],
        });
      }
    });

    it('when created and FAILED arrive in either order, or repeated, then rejected with exactly one void', () => {
      for (const events of [
        [created, status('FAILED')],
        [status('FAILED'), created],
        [status('FAILED'), created, status('FAILED'), created],
      ]) {
        expect(replay(withdrawal('approved'), events)).toEqual({
          status: 'rejected',
          effects: ['void_hold'],
          exceptions: [],
          refusals: [],
        });
      }
    });

    it('when a second COMPLETED or a repeated risk decision arrives, then it is a harmless duplicate', () => {
      const approve: WithdrawalEvent = { kind: 'risk_decided', decision: 'approve', reasons: [] };
      expect(
        replay(withdrawal('pending'), [
          approve,
          approve,
          created,
          status('FIAT_TRANSFER_COMPLETED'),
          status('FIAT_TRANSFER_COMPLETED'),
          approve,
        ]),
      ).toEqual({
        status: 'completed',
        effects: ['create_offramp', 'post_hold'],
        exceptions: [],
        refusals: [],
      });
    });

    it('when outcomes contradict (COMPLETED then FAILED, or an operator reject then COMPLETED), then the first stands and one exception is opened however often the second repeats', () => {
      expect(replay(withdrawal('processing'), [status('FIAT_TRANSFER_COMPLETED'), status('FAILED'), status('FAILED')])).toEqual({
        status: 'completed',
        effects: ['post_hold'],
        exceptions: [`partner_outcome_after_terminal:${id}:FAILED`],
        refusals: ['completed->rejected', 'completed->rejected'],
      });
      expect(replay(withdrawal('in_review'), [reject(null), status('FIAT_TRANSFER_COMPLETED')])).toMatchObject({
        status: 'rejected',
        effects: ['void_hold'],
        exceptions: [`partner_outcome_after_terminal:${id}:FIAT_TRANSFER_COMPLETED`],
      });
      expect(replay(withdrawal('processing'), [reject(order('failed', 'FAILED')), status('FIAT_TRANSFER_COMPLETED')])).toMatchObject({
        status: 'rejected',
        exceptions: [`partner_outcome_after_terminal:${id}:FIAT_TRANSFER_COMPLETED`],
      });
    });

    it('when an operator completes out of band and Alfred then reports FAILED, then it stays completed and the trader-received-nothing exception is opened', () => {
      const d = replay(withdrawal('processing'), [complete(order('live'), true), status('FAILED')]);
      expect(d).toEqual({
        status: 'completed',
        effects: ['post_hold'],
        exceptions: [`partner_outcome_after_terminal:${id}:FAILED`],
        refusals: ['completed->rejected'],
      });
    });
  });
});

describe('decide: payout failure classes', () => {
  it('when Alfred fails the payout, then the patch keeps the raw reason and its class', () => {
    const failed = (reason: string | null): WithdrawalEvent => ({
      kind: 'offramp_status',
      transactionId: 'tx-1',
      status: 'FAILED',
      failureReason: reason,
      source: 'webhook',
    });
    expect(decide(withdrawal('processing'), failed('ACCOUNT_CLOSED'))).toMatchObject({
      outcome: 'apply',
      patch: { failureReason: 'ACCOUNT_CLOSED', failureClass: 'account_closed' },
    });
    expect(decide(withdrawal('approved'), failed('Bank Unresponsive'))).toMatchObject({
      outcome: 'apply',
      patch: { failureReason: 'Bank Unresponsive', failureClass: 'bank_unavailable' },
    });
    expect(decide(withdrawal('processing'), failed(null))).toMatchObject({ patch: { failureReason: 'FAILED', failureClass: 'unknown' } });
  });

  it('when the failure is about the account, then the decision asks for the account to be marked errored; other classes do not', () => {
    const failed = (reason: string): WithdrawalEvent => ({
      kind: 'offramp_status',
      transactionId: 'tx-1',
      status: 'FAILED',
      failureReason: reason,
      source: 'webhook',
    });
    for (const reason of ['ACCOUNT_CLOSED', 'INVALID_ACCOUNT', 'HOLDER_NAME_MISMATCH'])
      for (const from of ['approved', 'processing'] as const)
        expect(decide(withdrawal(from), failed(reason)), `${reason} from ${from}`).toMatchObject({
          outcome: 'apply',
          effects: ['void_hold', 'mark_fiat_account_errored'],
        });
    for (const reason of ['COMPLIANCE_REJECTED', 'LIMIT_EXCEEDED', 'DEPOSIT_NOT_RECEIVED', 'WHATEVER'])
      expect(decide(withdrawal('processing'), failed(reason)), reason).toMatchObject({ outcome: 'apply', effects: ['void_hold'] });
    // A late FAILED of an already rejected withdrawal marks nothing again.
    expect(decide(withdrawal('rejected'), failed('ACCOUNT_CLOSED'))).toEqual({ outcome: 'duplicate', why: 'already rejected' });
  });

  it('when a withdrawal is rejected for another cause (refusal, operator), then it has no failure class', () => {
    const refused = decide(withdrawal('approved'), { kind: 'offramp_refused', partnerCode: 111426, message: 'out of range' });
    expect(refused.outcome === 'apply' && refused.patch.failureClass).toBeFalsy();
    const byOperator = decide(withdrawal('in_review'), reject(null));
    expect(byOperator.outcome === 'apply' && byOperator.patch.failureClass).toBeFalsy();
  });
});

describe('decide: bank_unavailable re-dispatch', () => {
  const bankDown = (tx = 'tx-1'): WithdrawalEvent => ({
    kind: 'offramp_status',
    transactionId: tx,
    status: 'FAILED',
    failureReason: 'BANK_UNAVAILABLE',
    source: 'webhook',
  });
  const policy = { redispatchMax: 2 };

  it('when the bank is unavailable and re-dispatches are left, then no refund: the FAILED order is set aside and a new one asked for', () => {
    const d = decide(withdrawal('processing'), bankDown(), policy);
    expect(d).toMatchObject({
      outcome: 'apply',
      steps: [],
      patch: { redispatch: { failedTransactionId: 'tx-1', dispatch: 2 } },
      effects: ['redispatch_offramp'],
      timeline: [{ kind: 'note', from: 'processing', to: 'processing', actor: 'alfred' }],
    });
    expect(d.outcome === 'apply' && d.patch.failureClass).toBeFalsy();
    const second = decide(
      { ...withdrawal('processing'), pspTransactionId: 'tx-2', payoutRedispatches: 1, failedPspTransactionIds: ['tx-1'] },
      bankDown('tx-2'),
      policy,
    );
    expect(second).toMatchObject({
      outcome: 'apply',
      patch: { redispatch: { failedTransactionId: 'tx-2', dispatch: 3 } },
      effects: ['redispatch_offramp'],
    });
    // FAILED before offramp-created: approved -> processing, still no refund.
    expect(decide(withdrawal('approved'), bankDown(), policy)).toMatchObject({
      outcome: 'apply',
      steps: [{ from: 'approved', to: 'processing' }],
      effects: ['redispatch_offramp'],
    });
  });

  it('when the re-dispatches are spent (or none are configured), then the withdrawal is rejected and refunded as bank_unavailable', () => {
    const spent = {
      ...withdrawal('processing'),
      pspTransactionId: 'tx-3',
      payoutRedispatches: 2,
      failedPspTransactionIds: ['tx-1', 'tx-2'],
    };
    expect(decide(spent, bankDown('tx-3'), policy)).toMatchObject({
      outcome: 'apply',
      steps: [{ to: 'rejected' }],
      patch: { failureClass: 'bank_unavailable' },
      effects: ['void_hold'],
    });
    expect(decide(withdrawal('processing'), bankDown())).toMatchObject({ outcome: 'apply', steps: [{ to: 'rejected' }] });
  });

  it('when a class other than bank_unavailable fails, then it is never re-dispatched', () => {
    for (const reason of ['ACCOUNT_CLOSED', 'LIMIT_EXCEEDED', 'UNKNOWN'])
      expect(decide(withdrawal('processing'), { ...bankDown(), failureReason: reason } as WithdrawalEvent, policy), reason).toMatchObject({
        steps: [{ to: 'rejected' }],
      });
  });

  it('when the new order comes, then it becomes the reference; a late event of a replaced order is a repeat', () => {
    const waiting = { ...withdrawal('processing'), pspTransactionId: null, payoutRedispatches: 1, failedPspTransactionIds: ['tx-1'] };
    expect(decide(waiting, { kind: 'offramp_created', transactionId: 'tx-2' }, policy)).toMatchObject({
      outcome: 'apply',
      steps: [],
      patch: { pspTransactionId: 'tx-2' },
    });
    expect(decide(waiting, bankDown('tx-1'), policy)).toEqual({ outcome: 'duplicate', why: 'order tx-1 failed and was re-dispatched' });
    const paid = { ...waiting, pspTransactionId: 'tx-2' };
    expect(decide(paid, status('FIAT_TRANSFER_COMPLETED', 'tx-2'), policy)).toMatchObject({
      steps: [{ to: 'completed' }],
      effects: ['post_hold'],
    });
    // Alfred refusing the new order: no order is left, so the hold is released.
    expect(decide(waiting, { kind: 'offramp_refused', partnerCode: 111426, message: 'out of range' }, policy)).toMatchObject({
      steps: [{ from: 'processing', to: 'rejected' }],
      effects: ['void_hold'],
    });
  });
});
