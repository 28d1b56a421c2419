import { randomFillSync } from 'node:crypto';
import { v7 } from 'uuid';

/** Random bytes drawn from the system's CSPRNG 4 KiB at a time: one call per 256 ids, not one per id. */
const pool = new Uint8Array(4096);
let used = pool.length;
/** The millisecond and counter of the last id, as uuid's own v7 keeps them: ids of one process are ordered. */
const last = { msecs: -Infinity, seq: 0 };

/** Time-ordered uuid (v7): ids of envelopes, outbox rows and aggregates. */
export const newId = (): string => {
  if (used === pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  const random = pool.subarray(used, (used += 16));
  // As uuid's v7 without options: a random counter each new millisecond, counted up within one.
  const now = Date.now();
  if (now > last.msecs) {
    last.msecs = now;
    last.seq = ((random[6]! & 0x7f) << 24) | (random[7]! << 16) | (random[8]! << 8) | random[9]!;
  } else {
    last.seq = (last.seq + 1) | 0;
    if (last.seq === 0) last.msecs++;
  }
  return v7({ random, msecs: last.msecs, seq: last.seq });
};
