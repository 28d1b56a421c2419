import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '@offramp/kit/testing';
import { startReceiver, readyOfframpOrder, startSandbox, type TestSandbox, type WebhookReceiver } from './harness.ts';
import { createState } from '../src/state.ts';
import { defaultSettings } from '../src/emulator/settings.ts';
import { loadState, snapshotOf } from '../src/persistence/state-file.ts';

let dir: string;
const opened: TestSandbox[] = [];
const receivers: WebhookReceiver[] = [];

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'alfred-sandbox-state-'));
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});
afterAll(() => fs.rm(dir, { recursive: true, force: true }));

function sandboxOn(stateFile: string, settings: Parameters<typeof startSandbox>[0] = {}): TestSandbox {
  const sandbox = startSandbox({ ...settings, stateFile });
  opened.push(sandbox);
  return sandbox;
}

/**
 * What a `kill -9` leaves: the file as it is at this instant, copied aside, so that the process that
 * wrote it (still alive in this test) cannot add to it on close.
 */
async function crashCopy(stateFile: string): Promise<string> {
  const copy = path.join(dir, `crashed-${opened.length}-${path.basename(stateFile)}`);
  await fs.copyFile(stateFile, copy);
  return copy;
}

/** A verified MX customer with a SPEI account, a quote, and an order created with an Idempotency-Key. */
async function customerWithOrder(sandbox: TestSandbox) {
  const { customerId, fiatAccountId, quoteId, order } = await readyOfframpOrder(sandbox, { quoteForCustomer: true });
  const created = await sandbox.call('POST', '/offramp', order, { 'idempotency-key': `order-${customerId}` });
  expect(created.statusCode, created.body).toBe(201);
  return { customerId, fiatAccountId, quoteId, order, transactionId: created.json().transactionId as string };
}

describe('sandbox state kept in a file', () => {
  it('when the sandbox is rebuilt from the file it had right after its answers, then customers, KYC, accounts, quotes, orders, keys, settings and faults are as they were', async () => {
    const stateFile = path.join(dir, 'kept', 'state.json');
    const first = sandboxOn(stateFile);
    const { customerId, fiatAccountId, quoteId, order, transactionId } = await customerWithOrder(first);
    expect(
      (await first.emu('POST', `/offramps/${transactionId}/walk`, { outcome: 'failure', failAfter: 'TRADE_COMPLETED' })).statusCode,
    ).toBe(200);
    expect((await first.emu('PUT', '/config', { bankUsaWorks: true, pairs: { MXN: { rate: '18.5' } } })).statusCode).toBe(200);
    expect((await first.emu('POST', '/faults', { mode: 'error', count: 2, pathPrefix: '/quotes' })).statusCode).toBe(201);
    const before = {
      customer: (await first.call('GET', `/customers/${customerId}`)).json(),
      accounts: (await first.call('GET', `/fiatAccounts?customerId=${customerId}`)).json(),
      offramp: (await first.call('GET', `/offramp/${transactionId}`)).json(),
      emuOfframps: (await first.emu('GET', '/offramps')).json(),
      config: (await first.emu('GET', '/config')).json(),
      faults: (await first.emu('GET', '/faults')).json(),
    };

    const second = sandboxOn(await crashCopy(stateFile));
    expect((await second.call('GET', `/customers/${customerId}`)).json()).toEqual(before.customer);
    expect(before.customer.statusKyc).toBe('COMPLETED');
    expect((await second.call('GET', `/fiatAccounts?customerId=${customerId}`)).json()).toEqual(before.accounts);
    expect((await second.call('GET', `/offramp/${transactionId}`)).json()).toEqual(before.offramp);
    expect(before.offramp.status).toBe('FAILED');
    expect((await second.emu('GET', '/offramps')).json()).toEqual(before.emuOfframps);
    expect((await second.emu('GET', '/config')).json()).toEqual(before.config);
    expect((await second.emu('GET', '/faults')).json()).toEqual(before.faults);
    // The same Idempotency-Key answers the same order; the used quote serves no other.
    const replay = await second.call('POST', '/offramp', order, { 'idempotency-key': `order-${customerId}` });
    expect(replay.json().transactionId).toBe(transactionId);
    const reuse = await second.call('POST', '/offramp', order);
    expect(reuse.statusCode).toBe(400);
    expect(reuse.json().errorCode).toBe(111302);
    expect(second.state.quotes.get(quoteId)?.usedBy).toBe(transactionId);
    expect(second.state.fiatAccounts.has(fiatAccountId)).toBe(true);
    // The request log is diagnostics: only the five partner calls made since this start.
    const requests = (await second.emu('GET', '/requests')).json().requests;
    expect(requests.map((r: { method: string }) => r.method)).toEqual(['GET', 'GET', 'GET', 'POST', 'POST']);
  });

  it('when many clients are answered at once, then every answer is on disk when it leaves (the writes are shared, never skipped)', async () => {
    const stateFile = path.join(dir, 'concurrent', 'state.json');
    const sandbox = sandboxOn(stateFile);
    const onDisk = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const { transactionId } = await customerWithOrder(sandbox);
        return (await fs.readFile(stateFile, 'utf8')).includes(transactionId);
      }),
    );
    expect(onDisk).toEqual(Array.from({ length: 20 }, () => true));
  });

  it('when the sandbox dies with webhooks undelivered, then the one rebuilt from its file delivers them, in order', async () => {
    const stateFile = path.join(dir, 'webhooks', 'state.json');
    const first = sandboxOn(stateFile, { settings: { webhookRetryBaseDelayMs: 60_000 } });
    const { transactionId } = await customerWithOrder(first);
    const receiver = await startReceiver([503]);
    receivers.push(receiver);
    await first.emu('PUT', '/config', { webhookUrl: receiver.url });
    const walked = await first.emu('POST', `/offramps/${transactionId}/walk`, { outcome: 'success' });
    expect(walked.statusCode).toBe(200);
    const crashed = await crashCopy(stateFile);
    // The first attempt was refused; the next one would wait a minute, long after the "crash".
    await eventually('the first attempt', () => receiver.received.length === 1);

    const second = sandboxOn(crashed, { settings: { webhookRetryBaseDelayMs: 20 } });
    await second.webhooks.idle();
    const received = receiver.received.slice(1).map((r) => JSON.parse(r.rawBody));
    expect(received.map((r) => [r.referenceId, r.status])).toEqual(
      ['ON_CHAIN_DEPOSIT_RECEIVED', 'TRADE_COMPLETED', 'FIAT_TRANSFER_INITIATED', 'FIAT_TRANSFER_COMPLETED'].map((s) => [transactionId, s]),
    );
    const deliveries = (await second.emu('GET', `/webhooks?referenceId=${transactionId}`)).json().deliveries;
    expect(deliveries.map((d: { state: string }) => d.state)).toEqual(['delivered', 'delivered', 'delivered', 'delivered']);
  });

  it('when the sandbox is closed with webhooks pending, then they stay pending in its file and the next start sends them', async () => {
    const stateFile = path.join(dir, 'closed', 'state.json');
    const receiver = await startReceiver([503]);
    receivers.push(receiver);
    const first = sandboxOn(stateFile, { settings: { webhookRetryBaseDelayMs: 60_000 } });
    const { transactionId } = await customerWithOrder(first);
    await first.emu('PUT', '/config', { webhookUrl: receiver.url });
    await first.emu('POST', `/offramps/${transactionId}/walk`, { outcome: 'failure' });
    const attempts = () => first.state.deliveries.find((d) => d.body.referenceId === transactionId)?.attempts.length;
    await eventually('the first attempt', () => attempts() === 1);
    await first.close();
    const saved = JSON.parse(await fs.readFile(stateFile, 'utf8'));
    const failedHook = saved.deliveries.find((d: { body: { referenceId: string } }) => d.body.referenceId === transactionId);
    expect(failedHook).toMatchObject({ state: 'pending', body: { status: 'FAILED' } });

    const second = sandboxOn(stateFile, { settings: { webhookRetryBaseDelayMs: 20 } });
    await second.webhooks.idle();
    expect(receiver.received.map((r) => JSON.parse(r.rawBody).status)).toEqual(['FAILED', 'FAILED']);
    const [delivery] = (await second.emu('GET', `/webhooks?referenceId=${transactionId}`)).json().deliveries;
    expect(delivery).toMatchObject({ state: 'delivered', delivered: true });
    expect(delivery.attempts.map((a: { statusCode: number }) => a.statusCode)).toEqual([503, 200]);
  });

  it('when the sandbox starts with new settings from its environment, then they win over the saved ones and the rest is kept', async () => {
    const stateFile = path.join(dir, 'settings', 'state.json');
    const first = sandboxOn(stateFile, { settings: { webhookSecret: 'old-secret' } });
    await first.emu('PUT', '/config', { quoteTtlSeconds: 42 });
    await first.close();
    const second = sandboxOn(stateFile, { settings: { webhookSecret: 'new-secret' } });
    expect((await second.emu('GET', '/config')).json()).toMatchObject({ webhookSecret: 'new-secret', quoteTtlSeconds: 42 });
  });

  it('when the sandbox is reset, then its file is emptied too', async () => {
    const stateFile = path.join(dir, 'reset', 'state.json');
    const first = sandboxOn(stateFile);
    const { customerId } = await customerWithOrder(first);
    expect((await first.emu('POST', '/reset')).statusCode).toBe(200);
    const second = sandboxOn(await crashCopy(stateFile));
    expect((await second.call('GET', `/customers/${customerId}`)).statusCode).toBe(404);
    expect(second.state.offramps.size).toBe(0);
    // Written by rename: no temporary file is left beside it.
    expect(await fs.readdir(path.dirname(stateFile))).toEqual(['state.json']);
  });

  it('when the file is read back after any answer, then it holds exactly what the sandbox holds, from a snapshot and the changes appended since', async () => {
    const stateFile = path.join(dir, 'journal', 'state.json');
    const receiver = await startReceiver();
    receivers.push(receiver);
    const sandbox = sandboxOn(stateFile, { settings: { webhookUrl: receiver.url, webhookRetryBaseDelayMs: 20 } });
    /** What a fresh sandbox reads back from the file as it is now, as the whole-state JSON. */
    const readBack = async () => {
      const state = createState(defaultSettings());
      loadState(await crashCopy(stateFile), state, {});
      return JSON.parse(snapshotOf(state));
    };
    const steps: [string, () => Promise<unknown>][] = [];
    let order: Awaited<ReturnType<typeof customerWithOrder>> | undefined;
    steps.push(['a customer with KYC, an account, a quote and an order', async () => (order = await customerWithOrder(sandbox))]);
    steps.push(['bridged', () => sandbox.emu('PUT', `/customers/${order!.customerId}`, { bridged: true })]);
    steps.push(['walked to completion', () => sandbox.emu('POST', `/offramps/${order!.transactionId}/walk`, { outcome: 'success' })]);
    steps.push(['webhooks delivered', async () => sandbox.webhooks.idle()]);
    steps.push([
      'amounts changed behind our back',
      () => sandbox.app.inject({ method: 'PATCH', url: `/__emu/offramps/${order!.transactionId}`, payload: { toAmount: '1.00' } }),
    ]);
    steps.push(['a fault armed', () => sandbox.emu('POST', '/faults', { mode: 'error', count: 2, pathPrefix: '/allConfigs' })]);
    steps.push(['the fault used once', () => sandbox.call('GET', '/allConfigs')]);
    steps.push(['settings changed', () => sandbox.emu('PUT', '/config', { quoteTtlSeconds: 77 })]);
    steps.push(['the account deleted', () => sandbox.call('DELETE', `/fiatAccounts/${order!.customerId}/${order!.fiatAccountId}`)]);
    steps.push(['the order deleted', () => sandbox.emu('DELETE', `/offramps/${order!.transactionId}`)]);
    steps.push(['faults cleared', () => sandbox.emu('DELETE', '/faults')]);
    steps.push(['a second order', () => customerWithOrder(sandbox)]);
    for (const [what, step] of steps) {
      await step();
      // Webhook attempts are written within 100 ms of being made (not before an answer).
      await sandbox.webhooks.idle();
      const live = () => JSON.parse(snapshotOf(sandbox.state));
      await eventually(`after "${what}", the file holds the state`, async () => isDeepStrictEqual(await readBack(), live()), {
        timeoutMs: 10_000,
      });
      expect(await readBack()).toEqual(live());
    }
    const lines = (await fs.readFile(stateFile, 'utf8')).split('\n');
    // One snapshot line and the records appended since (the trailing line break leaves an empty last element).
    expect(lines.length).toBeGreaterThan(steps.length);
    expect(lines.at(-1)).toBe('');
  });

  it('when the appended changes outgrow the snapshot, then the next write is a fresh snapshot and the file reads back the same', async () => {
    const stateFile = path.join(dir, 'compacted', 'state.json');
    const sandbox = sandboxOn(stateFile, { stateCompactAfterBytes: 0 });
    const { transactionId } = await customerWithOrder(sandbox);
    const lineCounts: number[] = [];
    for (const quoteTtlSeconds of [61, 62, 63, 64, 65, 66, 67, 68]) {
      expect((await sandbox.emu('PUT', '/config', { quoteTtlSeconds })).statusCode).toBe(200);
      lineCounts.push((await fs.readFile(stateFile, 'utf8')).split('\n').length - 1);
    }
    // Small records against a larger snapshot: appended for a while, then compacted to one line.
    expect(Math.max(...lineCounts)).toBeGreaterThan(2);
    expect(lineCounts).toContain(1);
    const second = sandboxOn(await crashCopy(stateFile));
    expect((await second.emu('GET', '/config')).json()).toMatchObject({ quoteTtlSeconds: 68 });
    expect((await second.call('GET', `/offramp/${transactionId}`)).statusCode).toBe(200);
  });

  it('when a crash cut the last record short, then the file reads back as before that record, and the next start writes it afresh', async () => {
    const stateFile = path.join(dir, 'torn', 'state.json');
    const first = sandboxOn(stateFile);
    const { customerId } = await customerWithOrder(first);
    const before = (await first.call('GET', `/customers/${customerId}`)).json();
    const torn = await crashCopy(stateFile);
    await fs.appendFile(torn, '{"k":[["customers","cut-short",{"customerId":"cut');
    const second = sandboxOn(torn);
    expect((await second.call('GET', `/customers/${customerId}`)).json()).toEqual(before);
    expect(second.state.customers.has('cut-short')).toBe(false);
    await second.emu('PUT', '/config', { quoteTtlSeconds: 55 });
    const text = await fs.readFile(torn, 'utf8');
    expect(text).not.toContain('cut-short');
    const third = sandboxOn(await crashCopy(torn));
    expect((await third.emu('GET', '/config')).json()).toMatchObject({ quoteTtlSeconds: 55 });
    expect((await third.call('GET', `/customers/${customerId}`)).json()).toEqual(before);
  });

  it('when a record in the middle of the file is not readable, then the sandbox refuses to start, naming the file', async () => {
    const stateFile = path.join(dir, 'middle', 'state.json');
    const first = sandboxOn(stateFile);
    await customerWithOrder(first);
    const copy = await crashCopy(stateFile);
    const [snapshot, ...records] = (await fs.readFile(copy, 'utf8')).split('\n');
    await fs.writeFile(copy, [snapshot, '{"k": "garbage"}', ...records].join('\n'));
    expect(() => sandboxOn(copy)).toThrow(`${copy} is not a sandbox state file of this version`);
  });

  it('when the file is not a state file, then the sandbox refuses to start, naming it, rather than forgetting everything', async () => {
    const stateFile = path.join(dir, 'corrupt.json');
    await fs.writeFile(stateFile, '{"version": 1, "customers": [');
    expect(() => sandboxOn(stateFile)).toThrow(`${stateFile} is not a sandbox state file of this version`);
    await fs.writeFile(stateFile, JSON.stringify({ version: 99 }));
    expect(() => sandboxOn(stateFile)).toThrow(stateFile);
  });
});
