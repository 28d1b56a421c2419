import { on, type ConsumerSpec } from '@offramp/kit';
import { withdrawalEvents } from '@offramp/contracts';
import { decideWithdrawal } from './decisions/decisions.ts';

/** The durable consumer of `withdrawals.debited` on the EVENTS stream; also the inbox key. */
export const withdrawalsConsumerName = 'risk-withdrawals';

/** What risk consumes: each debited withdrawal is decided once. */
export const riskConsumers: ConsumerSpec[] = [
  {
    name: withdrawalsConsumerName,
    stream: 'EVENTS',
    filterSubject: withdrawalEvents.debited.subject,
    handlers: [
      on(withdrawalEvents.debited, ({ em, envelope, log, cause }) =>
        decideWithdrawal(em, { withdrawal: envelope.payload, messageId: envelope.id, cause }, log),
      ),
    ],
  },
];
