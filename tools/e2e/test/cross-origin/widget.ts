/**
 * A widget page's script, as an exchange's front end would write it: it talks to the gateway from
 * another origin through the typed client `@offramp/client` and follows the trader's event stream
 * with `EventSource` and a stream ticket. The browser runs it with its types stripped (by the test's
 * static server) and resolves `@offramp/client` and `openapi-fetch` through the page's import map.
 * It keeps what happened in `widget.recorded`, which the test reads.
 *
 * No DOM typings in this repository: the little of `EventSource` it uses is declared here.
 */
import { createGatewayClient, type GatewayClient } from '@offramp/client';

interface StreamMessage {
  readonly type: string;
  readonly data: string;
  readonly lastEventId: string;
}
interface BrowserEventSource {
  readonly readyState: number;
  onopen: (() => void) | null;
  onerror: (() => void) | null;
  addEventListener(type: string, listener: (message: StreamMessage) => void): void;
  close(): void;
}
const { EventSource } = globalThis as unknown as { EventSource: new (url: string) => BrowserEventSource };
const CLOSED = 2;

/** An event the page received: on which connection, its `id:`, its name and its data. */
export interface ReceivedEvent {
  connection: number;
  id: string;
  event: string;
  data: { withdrawal_id: string; status: string; notification_id: string } & Record<string, unknown>;
}

const eventNames = ['withdrawal.processing', 'withdrawal.completed', 'withdrawal.rejected'] as const;

let client: GatewayClient | undefined;
let gateway = '';
let source: BrowserEventSource | undefined;
const recorded = { connections: 0, events: [] as ReceivedEvent[], streamErrors: [] as string[] };

function api(): GatewayClient {
  if (!client) throw new Error('widget.configure(gateway, token) first');
  return client;
}

/** A call the page made that did not succeed, named by its method and path. */
class CallFailed extends Error {}

/** Why a call failed: the documented error envelope, or the fetch's own failure (a CORS refusal is a TypeError). */
function failure(what: string, response: Response, error: { error: { code: string; message: string } } | undefined): Error {
  return new CallFailed(`${what}: ${response.status} ${error ? `${error.error.code}: ${error.error.message}` : '(no error envelope)'}`);
}
async function attempt<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    const e = err as Error;
    throw e instanceof CallFailed ? e : new CallFailed(`${what}: ${e.name}: ${e.message}`);
  }
}

const widget = {
  recorded,

  /** The gateway's origin and the trader's JWT (the exchange's front end has it). */
  configure(gatewayOrigin: string, token: string): void {
    gateway = gatewayOrigin;
    client = createGatewayClient({ baseUrl: gatewayOrigin, token });
  },

  balances() {
    return attempt('GET /psp/alfred/balances', async () => {
      const { data, error, response } = await api().GET('/psp/alfred/balances');
      if (!data) throw failure('GET /psp/alfred/balances', response, error);
      return data.data;
    });
  },

  /** A PIX account in the holder's name (the CPF 123.456.789-09 as key and document). */
  addPixAccount(holder: string) {
    return attempt('POST /psp/alfred/fiat-accounts', async () => {
      const { data, error, response } = await api().POST('/psp/alfred/fiat-accounts', {
        body: { type: 'PIX', fiatAccountFields: { pixKey: '12345678909', documentNumber: '12345678909', accountName: holder } },
      });
      if (!data) throw failure('POST /psp/alfred/fiat-accounts', response, error);
      return data.data.fiatAccountId;
    });
  },

  /** A session for `amount` BRL by PIX, then its initiation: the withdrawal, pending, its USDT held. */
  withdraw(fiatAccountId: string, amount: string) {
    return attempt('withdraw', async () => {
      const session = await api().POST('/psp/alfred/session', {
        body: {
          data: {
            type: 'withdrawal',
            amount,
            source_currency_id: 'BRL',
            payment_route_id: 'BR_PIX',
            wallet_id: 'MAIN',
            fiat_account_id: fiatAccountId,
          },
        },
      });
      if (!session.data) throw failure('POST /psp/alfred/session', session.response, session.error);
      const sessionId = session.data.data.session_id;
      const initiated = await api().POST('/psp/alfred/initiate-withdrawal', { body: { session_id: sessionId } });
      if (!initiated.data) throw failure('POST /psp/alfred/initiate-withdrawal', initiated.response, initiated.error);
      const { withdrawal_id: withdrawalId, status, debited } = initiated.data.data;
      return { sessionId, withdrawalId, status, debited: debited.amount };
    });
  },

  withdrawal(id: string) {
    return attempt('GET /psp/alfred/withdrawals/{id}', async () => {
      const { data, error, response } = await api().GET('/psp/alfred/withdrawals/{id}', { params: { path: { id } } });
      if (!data) throw failure('GET /psp/alfred/withdrawals/{id}', response, error);
      return data.data;
    });
  },

  /**
   * Opens the event stream with a new ticket (or the one given), resuming after `lastEventId`
   * when given: resolves once the stream is open, rejects when the browser gives it up first.
   */
  connect(options: { lastEventId?: string; ticket?: string } = {}): Promise<number> {
    return attempt('connect', async () => {
      let ticket = options.ticket;
      if (ticket === undefined) {
        const { data, error, response } = await api().POST('/psp/alfred/events/ticket');
        if (!data) throw failure('POST /psp/alfred/events/ticket', response, error);
        ticket = data.data.ticket;
      }
      const query = new URLSearchParams({ ticket, ...(options.lastEventId ? { last_event_id: options.lastEventId } : {}) });
      const connection = ++recorded.connections;
      const stream = new EventSource(`${gateway}/psp/alfred/events?${query}`);
      source = stream;
      for (const name of eventNames) {
        stream.addEventListener(name, (message) => {
          recorded.events.push({ connection, id: message.lastEventId, event: message.type, data: JSON.parse(message.data) });
        });
      }
      return new Promise<number>((resolve, reject) => {
        let opened = false;
        stream.onopen = () => {
          opened = true;
          resolve(connection);
        };
        stream.onerror = () => {
          recorded.streamErrors.push(`connection ${connection}: error, readyState ${stream.readyState}`);
          if (!opened) {
            stream.close();
            reject(
              new CallFailed(
                `GET /psp/alfred/events: the browser gave the stream up (readyState ${stream.readyState === CLOSED ? 'CLOSED' : stream.readyState})`,
              ),
            );
          }
        };
      });
    });
  },

  /** Closes the stream; answers the id of the last event received (what a reconnect resumes after). */
  disconnect(): string | undefined {
    source?.close();
    source = undefined;
    return recorded.events.at(-1)?.id;
  },
};

export type Widget = typeof widget;
(globalThis as unknown as { widget: Widget }).widget = widget;
