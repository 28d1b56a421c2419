import type { FastifyRequest } from 'fastify';
import { AppError } from '@offramp/kit';
import { unauthorized, type Trader } from '../auth/auth.ts';

/** preHandler: 401 without a valid token, 403 FORBIDDEN for a token without `role: "admin"`. */
export async function requireAdmin(request: FastifyRequest): Promise<void> {
  if (!request.trader) throw unauthorized(request);
  if (request.trader.role !== 'admin') throw new AppError('FORBIDDEN', 'Operator role required');
}

/** The operator behind a route guarded by `requireAdmin`; its id (the JWT sub) goes into every audit entry. */
export function operatorOf(request: FastifyRequest): Trader {
  if (request.trader?.role !== 'admin') throw new AppError('FORBIDDEN', 'Operator role required');
  return request.trader;
}
