import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { SandboxContext } from '../state.ts';
import { fieldNames, parseOrRefuse } from '../transport/parse.ts';
import { AlfredError, refuse } from '../transport/refusals.ts';
import { matchesPrefix } from '../transport/request-log.ts';
import { armFault, faultRequestSchema } from './faults.ts';
import { mergeSettings, settingsPatchSchema } from './settings.ts';

/** Emulator-only: reset, settings, faults and the two logs. Never part of Alfred; no api-key. */
export function emulatorConfigRoutes(app: FastifyInstance, ctx: SandboxContext, reset: () => void): void {
  app.post('/__emu/reset', async () => {
    reset();
    return { message: 'reset' };
  });

  app.get('/__emu/config', async () => ctx.state.settings);

  app.put('/__emu/config', async (request) => {
    const patch = parseOrRefuse(settingsPatchSchema, request.body);
    const merged = mergeSettings(ctx.state.settings, patch);
    if (!merged.success) throw new AlfredError(refuse('bad_request', { fields: fieldNames(merged.error) }));
    ctx.state.settings = merged.data;
    ctx.state.changes.settings = true;
    ctx.log.info({ changed: Object.keys(patch) }, 'emulator settings changed');
    return ctx.state.settings;
  });

  app.post('/__emu/faults', async (request, reply) => {
    const fault = armFault(ctx.state, parseOrRefuse(faultRequestSchema, request.body));
    return reply.code(201).send(fault);
  });

  app.get('/__emu/faults', async () => ({ faults: ctx.state.faults }));

  app.delete('/__emu/faults', async (_request, reply) => {
    ctx.state.faults.length = 0;
    ctx.state.changes.faults = true;
    return reply.code(204).send();
  });

  app.get('/__emu/webhooks', async (request) => {
    const { referenceId, eventType } = parseOrRefuse(
      z.object({ referenceId: z.string().optional(), eventType: z.string().optional() }),
      request.query,
    );
    const deliveries = ctx.state.deliveries.filter(
      (d) =>
        (referenceId === undefined || d.body.referenceId === referenceId) && (eventType === undefined || d.body.eventType === eventType),
    );
    return { deliveries };
  });

  app.get('/__emu/requests', async (request) => {
    const { method, pathPrefix } = parseOrRefuse(
      z.object({ method: z.string().optional(), pathPrefix: z.string().optional() }),
      request.query,
    );
    const requests = ctx.state.requests.filter(
      (r) => (method === undefined || r.method === method.toUpperCase()) && (pathPrefix === undefined || matchesPrefix(r.path, pathPrefix)),
    );
    return { requests };
  });
}
