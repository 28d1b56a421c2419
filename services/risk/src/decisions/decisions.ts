import { enqueue, type Cause, type EntityManager, type Logger } from '@offramp/kit';
import type { z } from 'zod';
import { riskEvents, type WithdrawalDebited } from '@offramp/contracts';
import { freezeFlags } from '../freeze/freeze.ts';
import { usageExtra, usageFrom } from '../limits/limits-store.ts';
import { lockUntilCommit } from '../locks.ts';
import { screeningExtra, screeningFrom } from '../screening/screening.ts';
import { loadRules } from '../thresholds/thresholds.ts';
import { decide, type DecisionInput } from './decide.ts';
import { recordDecision, recordedExtra, recordedFrom } from './decisions-store.ts';

/** Where a debited withdrawal came from: its message (recorded with the decision) and the cause of what it sends. */
export interface Debit {
  withdrawal: WithdrawalDebited;
  messageId: string;
  cause: Cause;
}

/**
 * One decision per withdrawal, announced through the outbox, in the caller's transaction (the
 * inbox's, so a redelivered message never gets here). A second message for a withdrawal already
 * decided (a sender retrying with a new message) is not decided again: the recorded decision is
 * announced again, unchanged, so the sender can move on.
 *
 * Decisions of one trader are serialized by the trader's lock, so two withdrawals cannot both fit
 * under the same limit. Usually two statements of risk's own: one read (the rules, the usage, the
 * screening entries, any recorded decision) that also tries the lock, and one write (the decision
 * and its usage) guarded by "the usage is still what was read". The read's snapshot is taken when
 * it starts, so a decision of this trader committed between then and the lock is not in it: the
 * guard sees it (the write's snapshot is later than the lock, and the lock is released after its
 * holder's commit is visible), and then the decision is made again, under the lock, from a fresh
 * read. When the lock is taken the read waits for it in a statement of its own before reading.
 */
export async function decideWithdrawal(em: EntityManager, debit: Debit, log: Logger): Promise<void> {
  const w = debit.withdrawal;
  let read = await readForDecision(em, w, { tryLock: true });
  if (!read.locked) {
    await lockUntilCommit(em, traderLock(w.traderId));
    read = await readForDecision(em, w, { tryLock: false });
  }
  // Under the lock at the latest after the first try: a second refusal of the guard is a bug.
  const announce = (d: Omit<z.output<typeof riskEvents.decided.payload>, 'withdrawalId'>) =>
    enqueue(em, riskEvents.decided, { withdrawalId: w.withdrawalId, ...d }, debit.cause);
  for (let attempt = 1; ; attempt++) {
    if (read.existing) {
      const { existing } = read;
      await announce({ traderId: existing.traderId, decision: existing.decision, reasons: existing.reasons });
      log.info(
        { withdrawalId: w.withdrawalId, decision: existing.decision },
        'withdrawal already decided; the recorded decision is announced again',
      );
      return;
    }
    const result = decide(read.input);
    if (await recordDecision(em, w, result, debit.messageId, read.usageRead)) {
      await announce({ traderId: w.traderId, decision: result.decision, reasons: result.reasons });
      log.info(
        { withdrawalId: w.withdrawalId, decision: result.decision, reasons: result.reasons.map((r) => r.code) },
        'withdrawal decided',
      );
      return;
    }
    if (attempt > 1) throw new Error(`the decision of withdrawal ${w.withdrawalId} was refused by its guard under the trader's lock`);
    read = await readForDecision(em, w, { tryLock: false });
  }
}

const traderLock = (traderId: string) => `risk:trader:${traderId}`;

/**
 * What the decision depends on, the decision already recorded for the withdrawal if any, and the
 * usage as read (for the write's guard): one statement; with `tryLock`, it also tries the trader's
 * lock without waiting (`locked`: got it, or held it already).
 */
async function readForDecision(em: EntityManager, w: WithdrawalDebited, opts: { tryLock: boolean }) {
  const usage = usageExtra(w.traderId);
  const { thresholds, freeze, extras } = await loadRules(em, [
    usage,
    screeningExtra(w.traderId, w.destinationFingerprint),
    recordedExtra(w.withdrawalId),
    ...(opts.tryLock
      ? [{ name: 'locked', sql: 'select pg_try_advisory_xact_lock(hashtext($1::text))', params: [traderLock(w.traderId)] }]
      : []),
  ]);
  const input: DecisionInput = {
    withdrawal: w,
    freeze: freezeFlags(freeze),
    route: thresholds.routes.get(w.paymentRouteId) ?? null,
    limits: thresholds.trader,
    travelRuleThresholdMinor: thresholds.travelRuleThresholdMinor,
    screening: screeningFrom(extras.screening),
    usage: usageFrom(extras.usage),
  };
  return {
    input,
    existing: recordedFrom(w.withdrawalId, extras.recorded),
    usageRead: { sql: usage.sql, params: usage.params, value: extras.usage },
    locked: !opts.tryLock || extras.locked === true,
  };
}
