import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { newId } from '@offramp/kit';
import { testInfra, chainTampering } from '@offramp/kit/testing';
import { partnersRpc } from '@offramp/contracts';
import { partnerAuditChain } from '../src/audit/partner-audit-chain.ts';
import { runAuditVerify } from '../../../tools/stack/src/audit-verify-process.ts';
import { startTestStack, type TestStack } from './harness.ts';

/** `npm run audit:verify -- sessions` against a schema, as its own process. */
const auditVerify = (schema: string) => runAuditVerify(['sessions'], { DATABASE_URL: testInfra().databaseUrl, SESSIONS_DB_SCHEMA: schema });

const auditRow = z.object({ seq: z.string(), chain_seq: z.string(), action: z.string(), actor: z.string() });
const auditRows = 'select seq::text as seq, chain_seq::text as chain_seq, action, actor from partner_audit a order by a.chain_seq';

describe('the partners audit as a hash chain', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(async () => stack?.cleanup());

  const { tamper, verify } = chainTampering({
    run: (sql) => stack.run(sql),
    em: () => stack.db.em.fork(),
    chain: partnerAuditChain,
    table: 'partner_audit',
    immutableTrigger: 'partner_audit_immutable',
  });

  it('when operators create, link, disable and rotate 20 partners all at once, then every change is on one unbroken chain and audit:verify exits 0', async () => {
    await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const created = await stack.call(partnersRpc.create, { name: `p-${newId()}`, webhookUrl: null, operatorId: `op-${i % 3}` });
        if (!created.ok) throw new Error(created.error.code);
        const partnerId = created.data.partnerId;
        const results = await Promise.all([
          stack.call(partnersRpc.linkTrader, { partnerId, traderId: `t-${i}`, userName: 'Ana', operatorId: 'op-1' }),
          stack.call(partnersRpc.setStatus, { partnerId, status: 'disabled', operatorId: 'op-2' }),
          stack.call(partnersRpc.rotateSecret, { partnerId, operatorId: 'op-0' }),
        ]);
        expect(results.every((r) => r.ok)).toBe(true);
      }),
    );
    const rows = await stack.rows(auditRow, auditRows);
    expect(rows.length).toBeGreaterThanOrEqual(80);
    expect(rows.map((r) => Number(r.chain_seq))).toEqual(rows.map((_, i) => i + 1));
    expect(await verify()).toMatchObject({ ok: true, entriesChecked: rows.length, firstBroken: null });
    const run = await auditVerify(stack.config.DB_SCHEMA);
    expect(run.code, run.stdout).toBe(0);
    expect(run.stdout).toContain('sessions.partner_audit');
  });

  it('when an audit row is edited in SQL, then verify fails naming that row and the CLI exits 1; restored, it passes again', async () => {
    const victim = (await stack.rows(auditRow, auditRows)).find((r) => r.action.includes('disable') || r.action.includes('status'))!;
    expect(victim).toBeDefined();
    await tamper(`update partner_audit set actor = 'operator:someone-else' where seq = ${victim.seq}`);
    expect(await verify()).toMatchObject({ ok: false, firstBroken: { seq: victim.chain_seq, id: victim.seq, problem: 'edited_content' } });
    const run = await auditVerify(stack.config.DB_SCHEMA);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`sessions.partner_audit: CHAIN BROKEN at entry ${victim.chain_seq} (id ${victim.seq}): edited_content`);

    await tamper(`update partner_audit set actor = '${victim.actor}' where seq = ${victim.seq}`);
    expect(await verify()).toMatchObject({ ok: true, firstBroken: null });
  });

  it('when a middle audit row is deleted, then verify names the row after it (missing predecessor)', async () => {
    const rows = await stack.rows(auditRow, auditRows);
    const gone = rows[5]!;
    await tamper(`delete from partner_audit where seq = ${gone.seq}`);
    expect(await verify()).toMatchObject({ ok: false, firstBroken: { seq: rows[6]!.chain_seq, problem: 'missing_predecessor' } });
  });
});
