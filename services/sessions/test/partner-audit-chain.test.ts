import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { newId, verifyChain } from '@offramp/kit';
import { testInfra } from '@offramp/kit/testing';
import { partnersRpc } from '@offramp/contracts';
import { partnerAuditChain } from '../src/audit/partner-audit-chain.ts';
import { startTestStack, type TestStack } from './harness.ts';

const cli = new URL('../../../tools/stack/src/audit-verify-cli.ts', import.meta.url).pathname;

/** `npm run audit:verify -- sessions` against a schema, as its own process: its exit code and output. */
function auditVerify(schema: string): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cli, 'sessions'],
      { env: { ...process.env, DATABASE_URL: testInfra().databaseUrl, SESSIONS_DB_SCHEMA: schema } },
      (err, stdout) => resolve({ code: err ? Number(err.code ?? -1) : 0, stdout }),
    );
  });
}

const auditRow = z.object({ seq: z.string(), chain_seq: z.string(), action: z.string(), actor: z.string() });
const auditRows = 'select seq::text as seq, chain_seq::text as chain_seq, action, actor from partner_audit a order by a.chain_seq';

describe('the partners audit as a hash chain', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(async () => stack?.cleanup());

  /** Runs statements with the audit's append-only trigger off, as someone with the table owner's rights could. */
  const tamper = async (...statements: string[]) => {
    await stack.run('alter table partner_audit disable trigger partner_audit_immutable');
    try {
      for (const s of statements) await stack.run(s);
    } finally {
      await stack.run('alter table partner_audit enable trigger partner_audit_immutable');
    }
  };
  const verify = () => verifyChain(stack.db.em.fork(), partnerAuditChain);

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
