import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '@offramp/kit';
import { ledgerRpc, type TransferResult } from '@offramp/contracts';
import { startTestLedger, type TestLedger } from './harness.ts';

/** Small deterministic PRNG (mulberry32): the same seed replays the same choice of operations. */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Op =
  | { kind: 'transfer'; id: string; from: string; to: string; amount: bigint }
  | { kind: 'hold'; id: string; from: string; to: string; amount: bigint }
  | { kind: 'post'; id: string; holdId: string }
  | { kind: 'void'; id: string; holdId: string }
  | { kind: 'retry'; of: number; amountDelta: bigint };

/**
 * Expected balances, built from the transfers the ledger answered `ok` with (each checked against
 * the request that caused it). Answers arrive in any order (a post may be answered before its
 * hold), so every effect is a commutative sum.
 */
class Model {
  posted = new Map<string, bigint>();
  pending = new Map<string, bigint>();
  add(map: Map<string, bigint>, owner: string, delta: bigint) {
    map.set(owner, (map.get(owner) ?? 0n) + delta);
  }
  apply(op: Exclude<Op, { kind: 'retry' }>, result: TransferResult) {
    if (result.outcome !== 'ok') return;
    const t = result.transfer!;
    expect(t.kind).toBe(op.kind);
    if (op.kind === 'post' || op.kind === 'void') expect(t.holdId).toBe(op.holdId);
    else expect([t.debit.owner, t.credit.owner, t.amountMinor]).toEqual([op.from, op.to, op.amount]);
    const [from, to, amount] = [t.debit.owner, t.credit.owner, t.amountMinor];
    if (t.kind === 'hold' || t.kind === 'void') return this.add(this.pending, from, t.kind === 'hold' ? amount : -amount);
    if (t.kind === 'post') this.add(this.pending, from, -amount);
    this.add(this.posted, from, -amount);
    this.add(this.posted, to, amount);
  }
}

describe('ledger under a seeded random workload', () => {
  let ledger: TestLedger;
  beforeAll(async () => {
    ledger = await startTestLedger({ poolMax: 16 });
  });
  afterAll(async () => ledger?.cleanup());

  it('when 10,000 mixed operations run with concurrency 16, then balances match the model and the consistency check is clean', async () => {
    const seed = Number(process.env.LEDGER_SEED ?? Math.floor(Math.random() * 2 ** 31));
    const context = `seed ${seed} (replay with LEDGER_SEED=${seed})`;
    const random = prng(seed);
    const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)]!;
    const traders = Array.from({ length: 12 }, (_, i) => `trader:r${seed}-${i}`);
    const system = ['external:deposits', 'psp:alfred:clearing'];
    for (const t of traders) {
      await ledger.fund(t, 0n);
    }
    await ledger.call(ledgerRpc.openAccount, { owner: 'psp:alfred:clearing', currency: 'USDT', allowNegative: true });

    // Operations are drawn up front from the seed; their interleaving is left to the scheduler.
    const ops: Op[] = [];
    const holdIds: string[] = [];
    for (let i = 0; i < 10_000; i++) {
      const r = random();
      const amount = BigInt(1 + Math.floor(random() * 5_000));
      if (r < 0.15) ops.push({ kind: 'transfer', id: newId(), from: 'external:deposits', to: pick(traders), amount: amount * 4n });
      else if (r < 0.35) {
        const from = pick(traders);
        ops.push({ kind: 'transfer', id: newId(), from, to: pick([...traders, 'psp:alfred:clearing'].filter((x) => x !== from)), amount });
      } else if (r < 0.6) {
        const id = newId();
        holdIds.push(id);
        ops.push({ kind: 'hold', id, from: pick(traders), to: 'psp:alfred:clearing', amount });
      } else if (r < 0.9 && holdIds.length > 0) ops.push({ kind: random() < 0.6 ? 'post' : 'void', id: newId(), holdId: pick(holdIds) });
      else if (ops.length > 0) ops.push({ kind: 'retry', of: Math.floor(random() * ops.length), amountDelta: random() < 0.5 ? 0n : 1n });
      else ops.push({ kind: 'transfer', id: newId(), from: 'external:deposits', to: pick(traders), amount });
    }

    const model = new Model();
    const usdt = (owner: string) => ({ owner, currency: 'USDT' });
    type Concrete = Exclude<Op, { kind: 'retry' }>;
    // A retry is the earlier request again (or with its amount changed); whichever copy reaches the
    // ledger first is the one that takes effect, so the model learns from the concrete request.
    const concrete = (op: Op): Concrete => {
      if (op.kind !== 'retry') return op;
      const original = concrete(ops[op.of]!);
      return original.kind === 'transfer' || original.kind === 'hold'
        ? { ...original, amount: original.amount + op.amountDelta }
        : original;
    };
    const run = (op: Concrete): Promise<TransferResult> => {
      if (op.kind === 'post' || op.kind === 'void') {
        return ledger.call(op.kind === 'post' ? ledgerRpc.postHold : ledgerRpc.voidHold, { id: op.id, holdId: op.holdId });
      }
      const rpc = op.kind === 'transfer' ? ledgerRpc.transfer : ledgerRpc.placeHold;
      return ledger.call(rpc, { id: op.id, debit: usdt(op.from), credit: usdt(op.to), amountMinor: op.amount, metadata: {} });
    };

    const outcomes = new Map<string, number>();
    let next = 0;
    const worker = async () => {
      while (next < ops.length) {
        const op = concrete(ops[next++]!);
        const result = await run(op);
        model.apply(op, result);
        outcomes.set(result.outcome, (outcomes.get(result.outcome) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));

    const check = await ledger.call(ledgerRpc.check, {});
    expect(check.mismatches, context).toEqual([]);
    expect(check.ok, context).toBe(true);
    for (const owner of [...traders, ...system]) {
      const [b] = (await ledger.call(ledgerRpc.getBalances, { owner, currency: 'USDT' })).balances;
      expect(b?.postedMinor ?? 0n, `${owner} posted, ${context}`).toBe(model.posted.get(owner) ?? 0n);
      expect(b?.pendingDebitsMinor ?? 0n, `${owner} pending, ${context}`).toBe(model.pending.get(owner) ?? 0n);
      if (owner.startsWith('trader:')) expect((b?.availableMinor ?? 0n) >= 0n, `${owner} available, ${context}`).toBe(true);
    }
    // The workload must have exercised every path, or the run proves little.
    for (const o of ['ok', 'exists', 'exists_with_different_fields', 'insufficient_funds', 'hold_already_posted', 'hold_already_voided']) {
      expect(outcomes.get(o) ?? 0, `outcome ${o}, ${context}`).toBeGreaterThan(0);
    }
  }, 300_000);
});
