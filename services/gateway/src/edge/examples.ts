/*
 * Examples of requests and answers for the OpenAPI document. They are checked against the schemas
 * they illustrate (Redocly's `no-invalid-media-type-examples`), so they stay true to the wire.
 */

const at = '2030-01-01T00:00:00.000Z';
export const exampleIds = {
  session: '0197a3c2-0000-7000-8000-000000000001',
  withdrawal: '0197a3c2-0000-7000-8000-00000000000a',
  exception: '0197a3c2-0000-7000-8000-0000000000e1',
  transfer: '0197a3c2-0000-7000-8000-0000000000f1',
  fiatAccount: 'fa_01HZX3K9',
};

export const quoteExample = {
  quote_id: 'q_01HZX3M2',
  fiat_amount: '100.00',
  fiat_currency: 'BRL',
  crypto_amount: '20.049116',
  crypto_currency: 'USDT',
  rate: '5.45',
  fees: [{ type: 'network', amount: '0.100000', currency: 'USDT' }],
  expires_at: '2030-01-01T00:10:00.000Z',
};

const timeline = [
  { kind: 'transition', from: null, to: 'pending', actor: 'trader:qa-1', reason: null, refused_code: null, at },
  {
    kind: 'transition',
    from: 'pending',
    to: 'approved',
    actor: 'risk',
    reason: 'auto-approve',
    refused_code: null,
    at: '2030-01-01T00:00:01.000Z',
  },
  {
    kind: 'transition',
    from: 'approved',
    to: 'processing',
    actor: 'system',
    reason: null,
    refused_code: null,
    at: '2030-01-01T00:00:02.000Z',
  },
];

export const withdrawalExample = {
  withdrawal_id: exampleIds.withdrawal,
  status: 'processing',
  payment_route_id: 'BR_PIX',
  fiat_account_id: exampleIds.fiatAccount,
  fiat_amount: '100.00',
  fiat_currency: 'BRL',
  crypto_amount: '20.049116',
  crypto_currency: 'USDT',
  psp_transaction_id: 'tx_01HZX3QF',
  failure: null,
  created_at: at,
  updated_at: '2030-01-01T00:00:02.000Z',
  timeline,
};

export const adminWithdrawalExample = {
  withdrawal_id: exampleIds.withdrawal,
  user_id: 'qa-1',
  status: 'in_review',
  country: 'BR',
  payment_route_id: 'BR_PIX',
  fiat_amount: '100.00',
  fiat_currency: 'BRL',
  crypto_amount: '20.049116',
  crypto_currency: 'USDT',
  quote: quoteExample,
  fiat_account: {
    fiat_account_id: exampleIds.fiatAccount,
    type: 'PIX',
    masked_number: '***8909',
    account_holder_name: 'Joao Santos',
    bank_name: null,
  },
  risk_decision: {
    decision: 'review',
    reasons: [{ code: 'kyt_suspicious', detail: 'the address is on the watch list' }],
    decided_at: '2030-01-01T00:00:01.000Z',
  },
  psp_transaction: null,
  psp_transaction_id: null,
  failure_reason: null,
  failure: null,
  settlement_reference: null,
  stuck_since: null,
  approved_by: null,
  approved_at: null,
  allowed_actions: ['approve', 'reject', 'override'],
  created_at: at,
  updated_at: '2030-01-01T00:00:01.000Z',
  timeline: [timeline[0], { ...timeline[1], to: 'in_review', reason: 'kyt_suspicious' }],
  exceptions: [],
};

export const exceptionExample = {
  exception_id: exampleIds.exception,
  kind: 'partner_outcome_after_terminal',
  status: 'open',
  withdrawal_id: exampleIds.withdrawal,
  user_id: 'qa-1',
  partner_reference: 'tx_01HZX3QF',
  facts: { withdrawalStatus: 'rejected', partnerStatus: 'FIAT_TRANSFER_COMPLETED' },
  exposure: 'trader_received_twice',
  amount: '20.049116',
  outstanding_amount: '20.049116',
  currency: 'USDT',
  opened_at: at,
  resolved_at: null,
  resolution: null,
  resolutions: ['recover_from_trader', 'write_off', 'dismiss'],
  actions: [],
};

export const freezeExample = {
  global: { frozen: false, reason: null, by: null, at: null },
  countries: { CO: { frozen: true, reason: 'bank holiday incident', by: 'operator:op-1', at } },
};
