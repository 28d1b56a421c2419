import type { z } from 'zod';
import type { Database } from '@offramp/kit';
import { ok, refuse, type exceptionsRpc, type ExceptionView, type ServiceResult } from '@offramp/contracts';
import { actionsOf, exceptionViewOf, listExceptionRows, toExceptionView } from './exceptions-store.ts';

type Req<K extends keyof typeof exceptionsRpc> = z.output<(typeof exceptionsRpc)[K]['request']>;

/** Newest first, with their actions; filtered by status, kind and withdrawal. */
export async function listExceptions(db: Database, req: Req<'list'>): Promise<{ exceptions: ExceptionView[]; total: number }> {
  const em = db.em.fork();
  const { rows, total } = await listExceptionRows(em, req);
  const actions = await actionsOf(
    em,
    rows.map((r) => r.id),
  );
  return { exceptions: rows.map((r) => toExceptionView(r, actions.get(r.id) ?? [])), total };
}

export async function getException(db: Database, req: Req<'get'>): Promise<ServiceResult<ExceptionView>> {
  const view = await exceptionViewOf(db.em.fork(), req.exceptionId);
  return view ? ok(view) : refuse('EXCEPTION_NOT_FOUND', 'Exception not found');
}
