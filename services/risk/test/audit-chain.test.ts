import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, openDatabase, queryRows, verifyChain } from '@offramp/kit';
import { testInfra, uniqueName, chainTampering } from '@offramp/kit/testing';
import { riskRpc } from '@offramp/contracts';
import { z } from 'zod';
import { migrations, openRiskDatabase, readRiskConfig } from '../src/app.ts';
import { auditChain } from '../src/audit/audit-chain.ts';
import { runAuditVerify } from '../../../tools/stack/src/audit-verify-process.ts';
import { startTestRisk, type TestRisk } from './harness.ts';

/** `npm run audit:verify -- risk` against a schema, as its own process. */
const auditVerify = (schema: string) => runAuditVerify(['risk'], { DATABASE_URL: testInfra().databaseUrl, RISK_DB_SCHEMA: schema });

const chainRow = z.object({ id: z.string(), chain_seq: z.string(), prev_hash: z.string(), hash: z.string() });

describe('the operator audit log as a hash chain', () => {
  let risk: TestRisk;
  beforeAll(async () => {
    risk = await startTestRisk();
  });
  afterAll(async () => risk?.cleanup());

  const { tamper, verify } = chainTampering({
    run: (sql) => risk.run(sql),
    em: () => risk.db.em.fork(),
    chain: auditChain,
    table: 'audit_log',
    immutableTrigger: 'audit_log_append_only',
  });

  it('when rows were there before the chain migration, then it chains them in id order and later appends continue the chain', async () => {
    const { databaseUrl } = testInfra();
    const schema = uniqueName('risk_chain_t');
    const old = await openDatabase({ url: databaseUrl, schema, migrations: migrations.slice(0, 1) });
    try {
      await migrate(old);
      for (const [reason, after] of [
        ['première', '{"frozen": true}'],
        [null, '{"b": 1, "a": [1, 2]}'],
        ['ação — 🚀', null],
      ] as const)
        await old.em
          .fork()
          .execute(
            `insert into audit_log (subject, scope, operator_id, reason, after) values ('freeze', 'global', 'op-old', ?, ?::jsonb)`,
            [reason, after],
          );
    } finally {
      await old.close();
    }
    const db = await openRiskDatabase(readRiskConfig({ DATABASE_URL: databaseUrl, DB_SCHEMA: schema }));
    try {
      await migrate(db);
      const em = db.em.fork();
      const chained = await queryRows(
        em,
        chainRow,
        'select id::text as id, chain_seq::text as chain_seq, prev_hash, hash from audit_log order by id',
      );
      expect(chained.map((r) => r.chain_seq)).toEqual(['1', '2', '3']);
      expect(chained[0]!.prev_hash).toBe('0'.repeat(64));
      expect(chained[1]!.prev_hash).toBe(chained[0]!.hash);
      expect(await verifyChain(em, auditChain)).toMatchObject({ ok: true, entriesChecked: 3, head: { seq: '3', hash: chained[2]!.hash } });
      await em.execute(`insert into audit_log (subject, scope, operator_id, reason) values ('screening', 'trader:t-1', 'op-new', 'after')`);
      expect(await verifyChain(em, auditChain)).toMatchObject({ ok: true, entriesChecked: 4, firstBroken: null });
    } finally {
      await db.em.fork().execute(`drop schema if exists "${schema}" cascade`);
      await db.close();
    }
  });

  it('when operators change the freeze concurrently, then one unbroken chain holds every change and audit:verify exits 0 naming how many it checked', async () => {
    const countries = [
      'AR',
      'BR',
      'CL',
      'CO',
      'MX',
      'PE',
      'UY',
      'PY',
      'BO',
      'EC',
      'CR',
      'PA',
      'GT',
      'DO',
      'SV',
      'HN',
      'NI',
      'VE',
      'US',
      'ES',
    ];
    await Promise.all(
      countries.map((country, i) =>
        risk.call(riskRpc.setFreeze, { frozen: true, country, reason: `incident ${i}`, operatorId: `op-${i}` }),
      ),
    );
    const rows = await risk.rows(
      chainRow,
      'select id::text as id, chain_seq::text as chain_seq, prev_hash, hash from audit_log order by audit_log.chain_seq',
    );
    expect(rows.length).toBeGreaterThanOrEqual(countries.length);
    expect(rows.map((r) => r.chain_seq)).toEqual(rows.map((_, i) => String(i + 1)));
    // No fork: every entry's predecessor is a different one.
    expect(new Set(rows.map((r) => r.prev_hash)).size).toBe(rows.length);
    expect(await verify()).toMatchObject({ ok: true, entriesChecked: rows.length });
    const run = await auditVerify(risk.config.DB_SCHEMA);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`risk.audit_log: chain intact, ${rows.length} entries checked`);
  });

  it('when an audit row is edited in SQL, then audit:verify exits 1 naming that row as edited; restored, it passes again', async () => {
    const [victim] = await risk.rows(
      z.object({ id: z.string(), chain_seq: z.string(), reason: z.string() }),
      'select id::text as id, chain_seq::text as chain_seq, reason from audit_log where chain_seq = 5',
    );
    await tamper(`update audit_log set reason = 'nothing to see' where id = ${victim!.id}`);
    expect(await verify()).toMatchObject({
      ok: false,
      entriesChecked: 4,
      firstBroken: { seq: '5', id: victim!.id, problem: 'edited_content' },
    });
    const run = await auditVerify(risk.config.DB_SCHEMA);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`risk.audit_log: CHAIN BROKEN at entry 5 (id ${victim!.id}): edited_content`);

    await tamper(`update audit_log set reason = '${victim!.reason}' where id = ${victim!.id}`);
    expect((await auditVerify(risk.config.DB_SCHEMA)).code).toBe(0);
  });

  it('when the last audit row is deleted in SQL, then audit:verify exits 1 naming the missing tail entry', async () => {
    const rows = await risk.rows(
      chainRow,
      'select id::text as id, chain_seq::text as chain_seq, prev_hash, hash from audit_log order by audit_log.chain_seq',
    );
    const last = rows.at(-1)!;
    await tamper(`delete from audit_log where id = ${last.id}`);
    expect(await verify()).toMatchObject({
      ok: false,
      entriesChecked: rows.length - 1,
      firstBroken: { seq: last.chain_seq, problem: 'missing_tail' },
    });
    const run = await auditVerify(risk.config.DB_SCHEMA);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`CHAIN BROKEN at entry ${last.chain_seq}: missing_tail`);
  });
});
