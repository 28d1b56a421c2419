import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { stdnum } from 'stdnum';
import type { LightMyRequestResponse } from 'fastify';
import { testLogger } from '@offramp/kit/testing';
import { basePath, buildSandbox, type Sandbox, type SandboxOptions } from '../src/app.ts';

export const credentials = { 'api-key': 'test-key', 'api-secret': 'test-secret' };

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

export type TestSandbox = Sandbox & {
  /** A partner-API call with the right credentials; `path` is relative to the base path. */
  call(method: Method, path: string, body?: object, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
  /** An emulator control call (`/__emu…`), which needs no credentials. */
  emu(method: Method, path: string, body?: object): Promise<LightMyRequestResponse>;
};

export function startSandbox(options: SandboxOptions = {}): TestSandbox {
  const sandbox = buildSandbox({
    apiKey: credentials['api-key'],
    apiSecret: credentials['api-secret'],
    log: testLogger('alfred-sandbox'),
    ...options,
  });
  return Object.assign(sandbox, {
    call: (method: Method, path: string, body?: object, headers: Record<string, string> = {}) =>
      sandbox.app.inject({
        method,
        url: `${basePath}${path}`,
        headers: { ...credentials, ...headers },
        ...(body === undefined ? {} : { payload: body }),
      }),
    emu: (method: Method, path: string, body?: object) =>
      sandbox.app.inject({ method, url: `/__emu${path}`, ...(body === undefined ? {} : { payload: body }) }),
  });
}

/** A customer whose KYC is COMPLETED, through the partner API and the emulator's KYC control. */
export async function verifiedCustomer(sandbox: TestSandbox, country = 'MX', opts: { bridged?: boolean } = {}): Promise<string> {
  const created = await sandbox.call('POST', '/customers/create', { email: `${randomUUID()}@example.com`, type: 'INDIVIDUAL', country });
  const { customerId } = created.json();
  const kyc = await sandbox.emu('POST', `/kyc/${customerId}`, { status: 'COMPLETED' });
  if (kyc.statusCode !== 200) throw new Error(`kyc failed: ${kyc.body}`);
  if (opts.bridged) await sandbox.emu('PUT', `/customers/${customerId}`, { bridged: true });
  return customerId;
}

/**
 * A verified MX customer with a SPEI (CLABE) account, a quote of 100 USDT to MXN on TRON (with the
 * customer in its metadata when `quoteForCustomer`), and the order body that spends it: what an
 * offramp needs, not yet created.
 */
export async function readyOfframpOrder(sandbox: TestSandbox, opts: { quoteForCustomer?: boolean } = {}) {
  const customerId = await verifiedCustomer(sandbox);
  const fields = {
    accountNumber: withCheckDigits('MX', 'clabe', '00201007777777777'),
    accountType: 'CLABE',
    metadata: { accountHolderName: 'Maria Lopez' },
  };
  const { fiatAccountId } = (await sandbox.call('POST', '/fiatAccounts', { customerId, type: 'SPEI', fiatAccountFields: fields })).json();
  const quote = (
    await sandbox.call('POST', '/quotes', {
      fromCurrency: 'USDT',
      toCurrency: 'MXN',
      fromAmount: '100',
      chain: 'TRON',
      paymentMethodType: 'BANK',
      ...(opts.quoteForCustomer ? { metadata: { customerId } } : {}),
    })
  ).json();
  const order = {
    customerId,
    quoteId: quote.quoteId as string,
    fromCurrency: 'USDT',
    toCurrency: 'MXN',
    amount: quote.fromAmount as string,
    chain: 'TRON',
    fiatAccountId: fiatAccountId as string,
    originAddress: 'Tsender',
  };
  return { customerId, fiatAccountId: fiatAccountId as string, quoteId: quote.quoteId as string, order };
}

export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  rawBody: string;
  at: number;
  /** The sender's port: one per connection it opened. */
  remotePort: number | undefined;
}

/** A real local HTTP endpoint for webhooks; `answers` are the status codes it gives, in turn (then 200). */
export interface WebhookReceiver {
  url: string;
  received: ReceivedWebhook[];
  answers: number[];
  close(): Promise<void>;
}

export async function startReceiver(answers: number[] = []): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const receiver = { received, answers: [...answers] };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({
        headers: req.headers,
        rawBody: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
        remotePort: req.socket.remotePort,
      });
      res.writeHead(receiver.answers.shift() ?? 200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(receiver, {
    url: `http://127.0.0.1:${port}/webhooks/alfred`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

/** Completes `prefix` with the check digits stdnum accepts (tries every completion of `digits` length). */
export function withCheckDigits(country: string, validator: string, prefix: string, digits = 1): string {
  const validate = stdnum[country]?.[validator];
  if (!validate) throw new Error(`no stdnum ${country}.${validator}`);
  for (let n = 0; n < 10 ** digits; n++) {
    const candidate = prefix + String(n).padStart(digits, '0');
    if (validate.validate(candidate).isValid) return candidate;
  }
  throw new Error(`no check digits make ${prefix} a valid ${country}.${validator}`);
}

/** The same number with its last digit changed, so that its checksum no longer holds. */
export const breakLastDigit = (value: string) => value.slice(0, -1) + String((Number(value.at(-1)) + 1) % 10);

/** Fills every `?` of `template` with the digits stdnum accepts, for check digits inside a number (CBU). */
export function fillCheckDigits(country: string, validator: string, template: string): string {
  const validate = stdnum[country]?.[validator];
  if (!validate) throw new Error(`no stdnum ${country}.${validator}`);
  const holes = template.split('?').length - 1;
  for (let n = 0; n < 10 ** holes; n++) {
    const digits = String(n).padStart(holes, '0');
    let i = 0;
    const candidate = template.replace(/\?/g, () => digits[i++]!);
    if (validate.validate(candidate).isValid) return candidate;
  }
  throw new Error(`no check digits make ${template} a valid ${country}.${validator}`);
}
