import { createLogger, runService } from '@offramp/kit';
import { readSandboxConfig } from './config.ts';
import { buildSandbox } from './app.ts';

const config = readSandboxConfig();
const log = createLogger({ name: 'alfred-sandbox', level: config.LOG_LEVEL });

await runService({
  name: 'alfred-sandbox',
  log,
  graceMs: config.SHUTDOWN_GRACE_MS,
  async start() {
    const sandbox = buildSandbox({
      apiKey: config.ALFRED_API_KEY,
      apiSecret: config.ALFRED_API_SECRET,
      settings: {
        webhookUrl: config.ALFRED_WEBHOOK_URL ?? null,
        webhookSecret: config.ALFRED_WEBHOOK_SECRET,
        signatureFormat: config.ALFRED_WEBHOOK_SIGNATURE_FORMAT,
      },
      log,
      stateFile: config.SANDBOX_STATE_FILE,
    });
    const address = await sandbox.app.listen({ port: config.PORT, host: config.HOST });
    log.info(
      { address, webhookUrl: config.ALFRED_WEBHOOK_URL ?? null, stateFile: config.SANDBOX_STATE_FILE ?? null },
      'alfred-sandbox listening',
    );
    return { close: sandbox.close };
  },
});
