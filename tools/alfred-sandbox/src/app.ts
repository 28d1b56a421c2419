import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { createLogger, type Logger } from '@offramp/kit';
import { clearState, createState, type SandboxContext, type SandboxState } from './state.ts';
import { defaultSettings, mergeSettings, type EmulatorSettings, type SettingsPatch } from './emulator/settings.ts';
import { createHolds, registerFaults } from './emulator/faults.ts';
import { emulatorConfigRoutes } from './emulator/emu-config.routes.ts';
import { emulatorDriveRoutes } from './emulator/emu-drive.routes.ts';
import { createWebhookDispatcher, type WebhookDispatcher } from './webhooks/dispatcher.ts';
import { createStateStore, loadState } from './persistence/state-file.ts';
import { driverRoutes } from './webhooks/driver.routes.ts';
import { registerAuth } from './transport/auth.ts';
import { registerErrorEnvelope } from './transport/errors.ts';
import { basePath, isPartnerPath, pathOf, registerRequestLog } from './transport/request-log.ts';
import { customerRoutes } from './customers/customers.routes.ts';
import { kycRoutes } from './kyc/kyc.routes.ts';
import { quoteRoutes } from './quotes/quotes.routes.ts';
import { fiatAccountRoutes } from './fiat-accounts/fiat-accounts.routes.ts';
import { offrampRoutes } from './offramps/offramps.routes.ts';

export { basePath };
export { readSandboxConfig, sandboxConfig, type SandboxConfig } from './config.ts';
export { signatureHeader, signedString, type SignatureFormat } from './webhooks/signature.ts';
export type { EmulatorSettings, SettingsPatch, SandboxState };
export type { WebhookDelivery, WebhookEvent } from './webhooks/dispatcher.ts';

/** What a sandbox's state file holds, read back as a starting sandbox reads it (snapshot and journal): for tests and tools. */
export function readStateFile(file: string): SandboxState {
  const state = createState(defaultSettings());
  loadState(file, state, {});
  return state;
}

export interface SandboxOptions {
  /** The credentials the partner API accepts; default `sandbox-key` / `sandbox-secret`. */
  apiKey?: string;
  apiSecret?: string;
  /** Emulator settings over the defaults (webhook url and secret, retry delay, BANK_USA, pairs…); reset returns to these. */
  settings?: SettingsPatch;
  /** Default: a silent logger. */
  log?: Logger;
  /** The clock, for quote and deposit expirations and timestamps. */
  now?: () => Date;
  /**
   * Where the state is kept across restarts, written before each answer leaves; read back at
   * build, pending webhooks included. Default: none, the state lives in memory only.
   */
  stateFile?: string;
  /** The state file's journal is compacted into a fresh snapshot once larger than the snapshot and than this; default 1 MiB. */
  stateCompactAfterBytes?: number;
}

export interface Sandbox {
  /** The Fastify instance, not listening: `app.inject(...)` or `app.listen({ port: 0 })`. */
  app: FastifyInstance;
  state: SandboxState;
  webhooks: WebhookDispatcher;
  /** The same as `POST /__emu/reset`. */
  reset(): void;
  close(): Promise<void>;
}

function initialSettings(patch: SettingsPatch | undefined): EmulatorSettings {
  const merged = mergeSettings(defaultSettings(), patch ?? {});
  if (!merged.success) throw new Error(`invalid sandbox settings: ${merged.error.issues.map((i) => i.path.join('.')).join(', ')}`);
  return merged.data;
}

/** Wires the emulator of Alfred's partner API: state, webhook sender, hooks and routes. */
export function buildSandbox(options: SandboxOptions = {}): Sandbox {
  const settings = initialSettings(options.settings);
  const log = options.log ?? createLogger({ name: 'alfred-sandbox', level: 'silent' });
  const now = options.now ?? (() => new Date());
  const state = createState(settings);
  if (options.stateFile !== undefined && loadState(options.stateFile, state, options.settings ?? {})) {
    log.info({ stateFile: options.stateFile, customers: state.customers.size, offramps: state.offramps.size }, 'sandbox state restored');
  }
  const store = createStateStore(options.stateFile, state, log, options.stateCompactAfterBytes);
  const webhooks = createWebhookDispatcher({ state, now, log, changed: store.saveSoon });
  const holds = createHolds();
  const ctx: SandboxContext = { state, now, webhooks, log };
  const reset = () => {
    webhooks.cancelAll();
    holds.releaseAll();
    clearState(state, settings);
    // The reset route's answer waits for the write (onSend); a reset outside a request is written shortly.
    store.saveSoon();
  };

  // An emulator must never hold its own close hostage to a client's idle keep-alive connection.
  // Fastify's two info lines per request are left out: the partner calls are in GET /__emu/requests,
  // and each request is logged once, at debug level.
  // Nor does each request get a child logger of its own (pino sets up bindings and redaction per
  // child) unless debug lines, which carry the request id, are wanted.
  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    bodyLimit: 256 * 1024,
    forceCloseConnections: true,
    disableRequestLogging: true,
    childLoggerFactory: (logger, bindings, options) => (log.isLevelEnabled('debug') ? logger.child(bindings, options) : logger),
  });
  app.addHook('onResponse', async (request, reply) => {
    if (log.isLevelEnabled('debug'))
      request.log.debug(
        { method: request.method, url: request.url, statusCode: reply.statusCode, ms: reply.elapsedTime },
        'request completed',
      );
  });
  acceptEmptyJsonBodies(app);
  registerRequestLog(app, { state, now });
  // Before any answer leaves (and before a fault withholds one), what it says happened is on disk.
  // Health probes change nothing, so they never pay for the comparison.
  app.addHook('onSend', async (request) => {
    const path = pathOf(request);
    if (isPartnerPath(path) || path.startsWith('/__emu')) await store.save();
  });
  registerFaults(app, { state, holds });
  registerAuth(app, { apiKey: options.apiKey ?? 'sandbox-key', apiSecret: options.apiSecret ?? 'sandbox-secret' });
  registerErrorEnvelope(app);
  app.register(
    async (partner) => {
      customerRoutes(partner, ctx);
      kycRoutes(partner, ctx);
      quoteRoutes(partner, ctx);
      fiatAccountRoutes(partner, ctx);
      offrampRoutes(partner, ctx);
      driverRoutes(partner, ctx);
    },
    { prefix: basePath },
  );
  emulatorConfigRoutes(app, ctx, reset);
  emulatorDriveRoutes(app, ctx);
  app.get('/healthz', async () => ({ status: 'ok' }));
  // Nothing to wait for: the state is in memory (read back from its file at build). The stack probes readiness like any service.
  app.get('/readyz', async () => ({ status: 'ready' }));

  let closing: Promise<void> | undefined;
  const close = async () => {
    await store.close();
    webhooks.cancelAll();
    holds.releaseAll();
    await app.close();
  };
  return { app, state, webhooks, reset, close: () => (closing ??= close()) };
}

/**
 * Clients often send `content-type: application/json` on body-less POSTs and DELETEs; Alfred does
 * not refuse those, so neither does the sandbox.
 */
function acceptEmptyJsonBodies(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(Object.assign(new Error('Body is not valid JSON'), { statusCode: 400 }), undefined);
    }
  });
}
