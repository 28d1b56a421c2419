export { errorCatalogue, errorCodes, type ErrorCode } from './errors.ts';
export { eventSubject, commandSubject, rpcSubject, deadLetterSubject, parseSubject, streams, buckets } from './subjects.ts';
export { minorUnits, positiveMinorUnits, currencyCode, currencyDecimals, decimalToMinor, minorToDecimal } from './money.ts';
export {
  envelopeHeader,
  envelopeOf,
  defineMessage,
  defineRpc,
  rpcFailure,
  type Envelope,
  type EnvelopeHeader,
  type MessageDef,
  type RpcDef,
} from './envelope.ts';
export * from './ledger.ts';
export * from './result.ts';
export * from './routes.ts';
export * from './withdrawals.ts';
export * from './risk.ts';
export * from './psp-alfred.ts';
export * from './http.ts';
export * from './notifications.ts';
export * from './exceptions.ts';
export * from './reports.ts';
export * from './approvals.ts';
export * from './payout-failures.ts';
export * from './partners.ts';
export * from './partner-webhooks.ts';
