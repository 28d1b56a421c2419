/** The hash chains of sessions' audit tables, as `npm run audit:verify` checks them. */
export { timelineChain } from './timeline-chain.ts';
export { partnerAuditChain } from './partner-audit-chain.ts';
