import { v7 } from 'uuid';

/** Time-ordered uuid (v7): ids of envelopes, outbox rows and aggregates. */
export const newId = (): string => v7();
