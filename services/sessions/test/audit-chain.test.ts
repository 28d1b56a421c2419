import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '@offramp/kit';
import { eventually, testInfra, chainTampering } from '@offramp/kit/testing';
import { withdrawalOperatorRpc } from '@offramp/contracts';
import { z } from 'zod';
import { timelineChain } from '../src/audit/timeline-chain.ts';
import { noteOnWithdrawal } from '../src/exceptions/exceptions.ts';
import { appendTimeline } from '../src/withdrawals/withdrawals-store.ts';
import { runAuditVerify } from '../../../tools/stack/src/audit-verify-process.ts';
import { startTestStack, type TestStack } from './harness.ts';

/** `npm run audit:verify -- sessions` against a schema, as its own process. */
const auditVerify = (schema: string) => runAuditVerify(['sessions'], { DATABASE_URL: testInfra().databaseUrl, SESSIONS_DB_SCHEMA: schema });

const chainRow = z.object({
  seq: z.string(),
  chain_seq: z.string(),
  prev_hash: z.string(),
  hash: z.string(),
  actor: z.string(),
  reason: z.string().nullable(),
});
const chainRows =
  'select seq::text as seq, chain_seq::text as chain_seq, prev_hash, hash, actor, reason from withdrawal_timeline t order by t.chain_seq';

describe('the withdrawal timeline as a hash chain', () => {
  let stack: TestStack;
  beforeAll(async () => {
    // No re-sends by the sweeper while the test reads the chain: every entry comes from the test.
    stack = await startTestStack({ env: { SWEEPER_OFFRAMP_RESEND_MS: '3600000', SWEEPER_RISK_REPUBLISH_MS: '3600000' } });
  });
  afterAll(async () => stack?.cleanup());

  const { tamper, verify } = chainTampering({
    run: (sql) => stack.run(sql),
    em: () => stack.db.em.fork(),
    chain: timelineChain,
    table: 'withdrawal_timeline',
    immutableTrigger: 'withdrawal_timeline_immutable',
  });

  it('when 50 withdrawals are initiated and then approved by operators all at once, then every transition is on one unbroken chain and audit:verify exits 0', async () => {
    const made = await Promise.all(Array.from({ length: 50 }, () => stack.withdraw({ decision: 'review', scenario: 'manual' })));
    await Promise.all(made.map((w) => stack.reaches(w.withdrawalId, 'in_review')));
    const approved = await Promise.all(
      made.map((w, i) =>
        stack.call(withdrawalOperatorRpc.approve, { withdrawalId: w.withdrawalId, operatorId: `op-${i}`, reason: 'looks fine' }),
      ),
    );
    expect(approved.every((r) => r.ok)).toBe(true);
    await stack.quiet();

    const rows = await stack.rows(chainRow, chainRows);
    // initiate (-> pending), risk (-> in_review) and the operator (-> approved) for each.
    expect(rows.length).toBeGreaterThanOrEqual(150);
    expect(rows.map((r) => r.chain_seq)).toEqual(rows.map((_, i) => String(i + 1)));
    expect(rows[0]!.prev_hash).toBe('0'.repeat(64));
    // No fork: no two entries follow the same one, and each follows the one before it.
    expect(new Set(rows.map((r) => r.prev_hash)).size).toBe(rows.length);
    rows.slice(1).forEach((r, i) => expect(r.prev_hash).toBe(rows[i]!.hash));
    expect(await verify()).toMatchObject({
      ok: true,
      entriesChecked: rows.length,
      head: { seq: String(rows.length), hash: rows.at(-1)!.hash },
    });

    const run = await auditVerify(stack.config.DB_SCHEMA);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`sessions.withdrawal_timeline: chain intact, ${rows.length} entries checked`);
  });

  it('when a transition holds its withdrawal and a note on it from another transaction waits, then both append in turn without a deadlock', async () => {
    const [w] = await stack.rows(z.object({ id: z.string() }), "select id::text as id from withdrawals where status = 'approved' limit 1");
    const before = (await stack.rows(chainRow, chainRows)).length;
    let noted: Promise<void> | undefined;
    await stack.db.em.fork().transactional(async (em) => {
      await em.execute('select 1 from withdrawals where id = ? for update', [w!.id]);
      const [holder] = await queryRows(em, z.object({ pid: z.number() }), 'select pg_backend_pid() as pid');
      // An exception noted on the withdrawal by a transaction that does not hold it: it waits for this one.
      noted = stack.db.em.fork().transactional((other) => noteOnWithdrawal(other, w!.id, 'system', 'exception noted meanwhile'));
      await eventually('the note to wait for the withdrawal', async () => {
        const waiting = await queryRows(
          stack.db.em.fork(),
          z.object({ n: z.string() }),
          'select count(*)::text as n from pg_stat_activity where ? = any(pg_blocking_pids(pid))',
          [holder!.pid],
        );
        return waiting[0]?.n === '1';
      });
      await appendTimeline(em, w!.id, { kind: 'note', from: 'approved', to: 'approved', actor: 'system', reason: 'the holder appends' });
    });
    await noted;
    const after = await stack.rows(chainRow, chainRows);
    expect(after.slice(before).map((r) => r.reason)).toEqual(['the holder appends', 'exception noted meanwhile']);
    expect(await verify()).toMatchObject({ ok: true, entriesChecked: after.length });
  });

  it('when a timeline row reason is edited in SQL, then verify fails naming that row as edited (the CLI exits 1); restored, it passes again', async () => {
    const victim = (await stack.rows(chainRow, chainRows)).find((r) => r.reason === 'looks fine')!;
    await tamper(`update withdrawal_timeline set reason = 'approved by the CFO' where seq = ${victim.seq}`);
    expect(await verify()).toMatchObject({
      ok: false,
      entriesChecked: Number(victim.chain_seq) - 1,
      firstBroken: { seq: victim.chain_seq, id: victim.seq, problem: 'edited_content' },
    });
    const run = await auditVerify(stack.config.DB_SCHEMA);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      `sessions.withdrawal_timeline: CHAIN BROKEN at entry ${victim.chain_seq} (id ${victim.seq}): edited_content`,
    );

    await tamper(`update withdrawal_timeline set reason = 'looks fine' where seq = ${victim.seq}`);
    expect(await verify()).toMatchObject({ ok: true, firstBroken: null });
  });

  it('when a row is edited and its hash recomputed, then verify names the next row (wrong prev link); relinked too, it names the next row as edited', async () => {
    const rows = await stack.rows(chainRow, chainRows);
    const [victim, next] = [rows[10]!, rows[11]!];
    await tamper(
      `update withdrawal_timeline set actor = 'operator:nobody' where seq = ${victim.seq}`,
      `update withdrawal_timeline t set hash = withdrawal_timeline_entry_hash(t) where seq = ${victim.seq}`,
    );
    expect((await verify()).firstBroken).toMatchObject({ seq: next.chain_seq, id: next.seq, problem: 'wrong_prev_link' });
    await tamper(
      `update withdrawal_timeline set prev_hash = (select hash from withdrawal_timeline where seq = ${victim.seq}) where seq = ${next.seq}`,
    );
    expect((await verify()).firstBroken).toMatchObject({ seq: next.chain_seq, id: next.seq, problem: 'edited_content' });

    await tamper(
      `update withdrawal_timeline set actor = '${victim.actor}', hash = '${victim.hash}' where seq = ${victim.seq}`,
      `update withdrawal_timeline set prev_hash = '${victim.hash}' where seq = ${next.seq}`,
    );
    expect(await verify()).toMatchObject({ ok: true, entriesChecked: rows.length });
  });

  it('when a middle timeline row is deleted in SQL, then verify fails naming the gap at the row after it (the CLI exits 1)', async () => {
    const rows = await stack.rows(chainRow, chainRows);
    const gone = rows[40]!;
    const next = rows[41]!;
    await tamper(`delete from withdrawal_timeline where seq = ${gone.seq}`);
    expect(await verify()).toMatchObject({
      ok: false,
      entriesChecked: 40,
      firstBroken: {
        seq: next.chain_seq,
        id: next.seq,
        problem: 'missing_predecessor',
        detail: `entry ${gone.chain_seq} before it missing (deleted)`,
      },
    });
    const run = await auditVerify(stack.config.DB_SCHEMA);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      `CHAIN BROKEN at entry ${next.chain_seq} (id ${next.seq}): missing_predecessor: entry ${gone.chain_seq} before it missing`,
    );
  });
});
