import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { queryRows } from '@offramp/kit';
import { eventually } from '@offramp/kit/testing';
import { z } from 'zod';
import { launchChromium, trackedPage } from './browser/chromium.ts';
import type { Widget } from './cross-origin/widget.ts';
import { startWidgetServer } from './cross-origin/static-server.ts';
import { emitOfframp, minusUsdt, newTrader, onboard, waitForStatus } from './flows.ts';
import { startNotifier, startSystem, tokenFor, type System } from './system.ts';

type WithWidget = { widget: Widget };

/** The widget page's functions, called in the page (each `page.evaluate` runs the page's own code). */
function widgetIn(page: Page) {
  return {
    configure: (gateway: string, token: string) =>
      page.evaluate(([g, t]) => (globalThis as unknown as WithWidget).widget.configure(g, t), [gateway, token] as const),
    balances: () => page.evaluate(() => (globalThis as unknown as WithWidget).widget.balances()),
    addPixAccount: (holder: string) => page.evaluate((h) => (globalThis as unknown as WithWidget).widget.addPixAccount(h), holder),
    withdraw: (fiatAccountId: string, amount: string) =>
      page.evaluate(([f, a]) => (globalThis as unknown as WithWidget).widget.withdraw(f, a), [fiatAccountId, amount] as const),
    withdrawal: (id: string) => page.evaluate((i) => (globalThis as unknown as WithWidget).widget.withdrawal(i), id),
    connect: (options: { lastEventId?: string; ticket?: string } = {}) =>
      page.evaluate((o) => (globalThis as unknown as WithWidget).widget.connect(o), options),
    disconnect: () => page.evaluate(() => (globalThis as unknown as WithWidget).widget.disconnect()),
    recorded: () => page.evaluate(() => (globalThis as unknown as WithWidget).widget.recorded),
    /** The message a call fails with, or 'answered'. */
    failureOf: (call: 'balances' | 'addPixAccount' | 'connect', arg?: string) =>
      page.evaluate(
        async ([c, a]) => {
          const w = (globalThis as unknown as WithWidget).widget;
          const run = c === 'balances' ? w.balances() : c === 'addPixAccount' ? w.addPixAccount(a!) : w.connect({ ticket: a! });
          return run.then(
            () => 'answered',
            (err: Error) => err.message,
          );
        },
        [call, arg] as const,
      ),
  };
}

/**
 * The widget path from a browser: a page served from another origin than the gateway's (a static
 * server on its own port) uses the typed client `@offramp/client` (its ES module with the types
 * stripped, and openapi-fetch, through an import map) and `EventSource` with a stream ticket,
 * against the whole system with the gateway listening and `CORS_ORIGINS` naming that origin.
 * The test sets the trader up through the QA endpoints and plays Alfred with emit-offramp; every
 * exchange the page has with the gateway is checked against its OpenAPI document (trackedPage).
 */
describe('the widget from another origin in a browser (CORS, typed client, event stream with tickets)', () => {
  let sys: System;
  let notifier: Awaited<ReturnType<typeof startNotifier>> | undefined;
  let allowed: Awaited<ReturnType<typeof startWidgetServer>>;
  let refused: Awaited<ReturnType<typeof startWidgetServer>>;
  let gateway: string;
  let launched: Promise<Browser> | undefined;
  const browser = () => (launched ??= launchChromium());

  beforeAll(async () => {
    allowed = await startWidgetServer();
    refused = await startWidgetServer();
    sys = await startSystem({ env: { CORS_ORIGINS: allowed.origin } });
    notifier = await startNotifier(sys.messaging);
    gateway = await sys.gateway.http.app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await (await launched?.catch(() => undefined))?.close();
    await notifier?.close();
    await sys?.cleanup();
    await allowed?.close();
    await refused?.close();
  });

  /** The widget page of `origin`, set up for `trader`; the console's errors are kept. */
  async function openWidget(origin: string, trader: string) {
    const { page, errors, close } = await trackedPage(await browser());
    onTestFinished(close);
    const consoleErrors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    await page.goto(origin);
    await page.waitForFunction(() => 'widget' in globalThis);
    const widget = widgetIn(page);
    await widget.configure(gateway, tokenFor(trader));
    return { page, widget, errors, consoleErrors };
  }

  /** The notification ids the notifier stored for a withdrawal, in order: what its stream events must carry. */
  async function notificationIds(withdrawalId: string): Promise<string[]> {
    const rows = await queryRows(
      notifier!.db.em.fork(),
      z.object({ id: z.string() }),
      'select id from notifications where withdrawal_id = ? order by id',
      [withdrawalId],
    );
    return rows.map((r) => r.id);
  }

  it('when a page of an allowed origin completes a withdrawal through the typed client, then its EventSource gets the events; disconnected while another completes, it resumes with last_event_id and gets exactly the missed events, once, in order, then live ones', async () => {
    const trader = newTrader();
    const holder = await onboard(sys, trader, 'BR');
    const { widget, errors, consoleErrors } = await openWidget(allowed.origin, trader);

    expect(await widget.balances()).toEqual([{ currency: 'USDT', available: '1000.000000', held: '0.000000' }]);
    expect(await widget.connect()).toBe(1);
    const accountId = await widget.addPixAccount(holder);

    // The first withdrawal, with the stream open: the page sees it go to the bank and complete.
    const first = await widget.withdraw(accountId, '100.00');
    expect(first.status).toBe('pending');
    await waitForStatus(sys, trader, first.withdrawalId, 'processing');
    await emitOfframp(sys, trader, first.sessionId, 'success');
    await waitForStatus(sys, trader, first.withdrawalId, 'completed');
    await eventually('the first withdrawal’s two events on the page', async () => (await widget.recorded()).events.length >= 2);
    expect((await widget.withdrawal(first.withdrawalId)).status).toBe('completed');

    // Disconnected, the second withdrawal completes: its two notifications are published meanwhile.
    const lastId = await widget.disconnect();
    const second = await widget.withdraw(accountId, '100.00');
    await waitForStatus(sys, trader, second.withdrawalId, 'processing');
    await emitOfframp(sys, trader, second.sessionId, 'success');
    await waitForStatus(sys, trader, second.withdrawalId, 'completed');
    // Every notification of the second withdrawal is stored and published by now, while no stream is open.
    await notifier!.quiet(sys);
    const missed = await notificationIds(second.withdrawalId);
    expect(missed).toHaveLength(2);
    expect((await widget.recorded()).events).toHaveLength(2);

    // Reconnected after the last id seen, with a new ticket: the missed events, then a live one.
    expect(await widget.connect({ lastEventId: lastId! })).toBe(2);
    await eventually('the missed events on the page', async () => (await widget.recorded()).events.length >= 4);
    const third = await widget.withdraw(accountId, '100.00');
    await waitForStatus(sys, trader, third.withdrawalId, 'processing');
    // The live event comes after everything the stream replayed, so a duplicate would have arrived before it.
    await eventually('the third withdrawal’s live event on the page', async () =>
      (await widget.recorded()).events.some((e) => e.data.withdrawal_id === third.withdrawalId),
    );

    const recorded = await widget.recorded();
    expect(recorded.events.map((e) => [e.connection, e.event, e.data.withdrawal_id])).toEqual([
      [1, 'withdrawal.processing', first.withdrawalId],
      [1, 'withdrawal.completed', first.withdrawalId],
      [2, 'withdrawal.processing', second.withdrawalId],
      [2, 'withdrawal.completed', second.withdrawalId],
      [2, 'withdrawal.processing', third.withdrawalId],
    ]);
    expect(lastId).toBe(recorded.events[1]!.id);
    expect(recorded.events.map((e) => e.id)).toEqual([
      ...(await notificationIds(first.withdrawalId)),
      ...missed,
      ...(await notificationIds(third.withdrawalId)),
    ]);
    expect(recorded.events.every((e) => e.id === e.data.notification_id)).toBe(true);
    expect(recorded.streamErrors).toEqual([]);

    // The page's balance: the two completed withdrawals gone, the third held.
    const spent = minusUsdt(minusUsdt('1000.000000', first.debited), second.debited);
    expect(await widget.balances()).toEqual([{ currency: 'USDT', available: minusUsdt(spent, third.debited), held: third.debited }]);
    expect(errors).toEqual([]);
    expect(consoleErrors).toEqual([]);
  });

  it('when a page of an origin not in CORS_ORIGINS calls the gateway, then the browser refuses every answer (a CORS error, fetch fails), nothing changes, and its EventSource is given up', async () => {
    const trader = newTrader();
    const holder = await onboard(sys, trader, 'BR');
    const { widget, errors, consoleErrors } = await openWidget(refused.origin, trader);

    expect(await widget.failureOf('balances')).toBe('GET /psp/alfred/balances: TypeError: Failed to fetch');
    // A JSON POST with a bearer token needs a preflight, which the gateway does not grant: never sent.
    expect(await widget.failureOf('addPixAccount', holder)).toBe('POST /psp/alfred/fiat-accounts: TypeError: Failed to fetch');
    expect(consoleErrors.join('\n')).toContain(`from origin '${refused.origin}' has been blocked by CORS policy`);
    const accounts = await sys.http('GET', '/psp/alfred/fiat-accounts', { trader });
    expect(accounts.status).toBe(200);
    expect(accounts.body!.data).toEqual([]);

    // Even with a valid ticket (taken here, by the test), the stream's answer is refused to the page.
    const ticket = await sys.http('POST', '/psp/alfred/events/ticket', { trader });
    expect(ticket.status).toBe(201);
    expect(await widget.failureOf('connect', ticket.body!.data.ticket as string)).toBe(
      'GET /psp/alfred/events: the browser gave the stream up (readyState CLOSED)',
    );
    expect((await widget.recorded()).events).toEqual([]);
    expect(errors).toEqual([]);
  });
});
