import { z } from 'zod';
import type { AlfredTransport } from '../alfred/transport.ts';

const webhookDriverResponse = z.object({ message: z.string() }).loose();

/**
 * Alfred's sandbox driver (`POST /webhooks`): moves a KYC or a ramp to `status` and delivers the
 * signed webhook. Only Alfred's sandbox (and ours) has it, and only the QA actions use it; it goes
 * through the same transport (credentials, breaker) as the partner API, but is no part of the
 * production client.
 */
export function createSandboxDriver(transport: AlfredTransport) {
  return {
    driveWebhook: (body: { referenceId: string; eventType: 'KYC' | 'OFFRAMP'; status: string; metadata?: Record<string, unknown> }) =>
      transport.request(
        { method: 'POST', endpoint: '/webhooks', path: '/webhooks', body: { metadata: {}, ...body } },
        webhookDriverResponse,
      ),
  };
}

export type SandboxDriver = ReturnType<typeof createSandboxDriver>;
