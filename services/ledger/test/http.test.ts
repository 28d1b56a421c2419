import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '@offramp/kit';
import { ledgerRpc } from '@offramp/contracts';
import { startTestLedger, type TestLedger } from './harness.ts';

describe('ledger http surface', () => {
  let ledger: TestLedger;
  beforeAll(async () => {
    ledger = await startTestLedger();
  });
  afterAll(async () => ledger?.cleanup());

  it('when probed, then /healthz and /readyz answer 200 in the envelope and echo the caller trace id', async () => {
    const health = await ledger.app.http.app.inject({ url: '/healthz', headers: { 'x-trace-id': 'trace-abc' } });
    expect(health.statusCode).toBe(200);
    expect(health.headers['x-trace-id']).toBe('trace-abc');
    expect(health.json()).toEqual({ success: true, data: { status: 'ok' }, trace_id: 'trace-abc' });
    const ready = await ledger.app.http.app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json().data.checks).toEqual({ database: 'ok', nats: 'ok' });
  });

  it('when a route does not exist, then 404 NOT_FOUND in the error envelope with a generated trace id', async () => {
    const res = await ledger.app.http.app.inject({ url: '/nope', headers: { 'x-trace-id': 'bad id with spaces' } });
    expect(res.statusCode).toBe(404);
    const body = res.json();
    expect(body.success).toBe(false);
    expect(body.error.code).toBe('NOT_FOUND');
    expect(body.trace_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers['x-trace-id']).toBe(body.trace_id);
  });

  it('when work has been done, then /metrics exposes rpc timings and outbox figures', async () => {
    const trader = `trader:${newId()}`;
    await ledger.fund(trader, 5n);
    await ledger.app.relay.flush();
    const res = await ledger.app.http.app.inject({ url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toMatch(/rpc_duration_seconds_count\{[^}]*subject="rpc\.ledger\.transfer\.v1"[^}]*\} [1-9]/);
    expect(res.body).toMatch(/outbox_published_total\{[^}]*\} [1-9]/);
    expect(res.body).toContain('outbox_backlog');
  });

  it('when the consistency check is asked over http, then it reports a clean ledger', async () => {
    const res = await ledger.app.http.app.inject({ url: '/ledger/check' });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.success).toBe(true);
    expect(body.data.ok).toBe(true);
    expect(body.data.mismatches).toEqual([]);
    const viaRpc = await ledger.call(ledgerRpc.check, {});
    expect(viaRpc.accountsChecked).toBe(body.data.accountsChecked);
  });

  it("when balances are corrupted behind the ledger's back, then the check names the account and the currency", async () => {
    const trader = `trader:${newId()}`;
    await ledger.fund(trader, 1_000n);
    await ledger.db.em
      .fork()
      .execute('update balances set credits_posted = credits_posted + 7 where account_id = (select id from accounts where owner = ?)', [
        trader,
      ]);
    const check = await ledger.call(ledgerRpc.check, {});
    expect(check.ok).toBe(false);
    expect(check.mismatches).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'account_differs_from_postings', owner: trader, currency: 'USDT' }),
        expect.objectContaining({ kind: 'currency_not_balanced', currency: 'USDT' }),
      ]),
    );
    await ledger.db.em
      .fork()
      .execute('update balances set credits_posted = credits_posted - 7 where account_id = (select id from accounts where owner = ?)', [
        trader,
      ]);
    expect((await ledger.call(ledgerRpc.check, {})).ok).toBe(true);
  });

  it('when the service drains, then /readyz answers 503 so traffic moves away', async () => {
    ledger.app.http.setDraining();
    const res = await ledger.app.http.app.inject({ url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.json().error.details.checks.draining).toBe('yes');
  });
});
