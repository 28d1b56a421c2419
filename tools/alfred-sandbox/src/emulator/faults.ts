import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { SandboxState } from '../state.ts';
import { envelopeOf, refuse } from '../transport/refusals.ts';
import { isPartnerPath, matchesPrefix, pathOf, recordOf } from '../transport/request-log.ts';

export const faultRequestSchema = z.strictObject({
  mode: z.enum(['error', 'timeout', 'slow']),
  count: z.number().int().min(1).max(10_000),
  delayMs: z.number().int().min(0).max(600_000).optional(),
  pathPrefix: z.string().startsWith('/').optional(),
  /** For `timeout`: take effect first and withhold only the answer, the "did it happen?" case. */
  afterEffect: z.boolean().optional(),
});

export interface ArmedFault {
  faultId: string;
  mode: 'error' | 'timeout' | 'slow';
  remaining: number;
  delayMs: number;
  pathPrefix: string | null;
  afterEffect: boolean;
}

/** A held request outlasts any client timeout; `slow` stays under the usual ones. */
const defaultDelayMs = { error: 0, timeout: 30_000, slow: 2_000 } as const;

export function armFault(state: SandboxState, input: z.infer<typeof faultRequestSchema>): ArmedFault {
  const fault: ArmedFault = {
    faultId: randomUUID(),
    mode: input.mode,
    remaining: input.count,
    delayMs: input.delayMs ?? defaultDelayMs[input.mode],
    pathPrefix: input.pathPrefix ?? null,
    afterEffect: input.afterEffect ?? false,
  };
  state.faults.push(fault);
  state.changes.faults = true;
  return fault;
}

/** The first armed fault matching the path, used up by one call. */
export function takeFault(state: SandboxState, path: string): ArmedFault | null {
  const fault = state.faults.find((f) => f.pathPrefix === null || matchesPrefix(path, f.pathPrefix));
  if (!fault) return null;
  fault.remaining -= 1;
  if (fault.remaining === 0) state.faults.splice(state.faults.indexOf(fault), 1);
  state.changes.faults = true;
  return fault;
}

/** Lets reset and close end every held request at once. */
export interface Holds {
  hold(ms: number): Promise<'elapsed' | 'released'>;
  releaseAll(): void;
}

export function createHolds(): Holds {
  let release = new AbortController();
  return {
    async hold(ms) {
      try {
        await sleep(ms, undefined, { signal: release.signal });
        return 'elapsed';
      } catch {
        return 'released';
      }
    },
    releaseAll() {
      release.abort();
      release = new AbortController();
    },
  };
}

const answerHeldFor = new WeakMap<FastifyRequest, number>();

/** Applies armed faults to partner-API calls, before authentication, as a failing upstream would. */
export function registerFaults(app: FastifyInstance, deps: { state: SandboxState; holds: Holds }): void {
  app.addHook('onRequest', async (request, reply) => {
    const path = pathOf(request);
    if (!isPartnerPath(path)) return;
    const fault = takeFault(deps.state, path);
    if (!fault) return;
    const record = recordOf(request);
    if (record) record.fault = fault.mode;
    if (fault.mode === 'slow') {
      await deps.holds.hold(fault.delayMs);
      return;
    }
    if (fault.mode === 'timeout' && fault.afterEffect) {
      answerHeldFor.set(request, fault.delayMs);
      return;
    }
    // A held request was never handled: released (or timed out), it fails like a dead upstream.
    if (fault.mode === 'timeout') await deps.holds.hold(fault.delayMs);
    const { statusCode, body } = envelopeOf(refuse('internal_error'));
    return reply.code(statusCode).send(body);
  });
  app.addHook('onSend', async (request, _reply, payload) => {
    const delayMs = answerHeldFor.get(request);
    if (delayMs !== undefined) await deps.holds.hold(delayMs);
    return payload;
  });
}
