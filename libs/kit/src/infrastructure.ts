/**
 * Whether an error says "something this service stands on is not there right now" (the database
 * unreachable, restarting or out of time; a connection lost; another service not answering) rather
 * than "this request or this code is wrong". The first is answered 503 PSP_UNAVAILABLE at the edge
 * and retried by consumers until the infrastructure is back, without counting toward the dead
 * letter; the second is a 4xx/500, and a message failing that way is dead-lettered in the end.
 */
export function isInfrastructureError(err: unknown): boolean {
  const seen = new Set<unknown>();
  const pending: unknown[] = [err];
  while (pending.length > 0) {
    const e = pending.pop();
    if (!e || typeof e !== 'object' || seen.has(e)) continue;
    seen.add(e);
    if (isOwnInfrastructureError(e as Describable)) return true;
    // MikroORM wraps the driver's error (copying its fields); pg and Node chain theirs in `cause`
    // or, for a connect to several addresses, in an AggregateError's `errors`.
    pending.push((e as { cause?: unknown }).cause);
    const nested = (e as { errors?: unknown }).errors;
    if (Array.isArray(nested)) pending.push(...nested);
  }
  return false;
}

interface Describable {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  /** Set by errors of the kit's own making that know the answer (RpcError). */
  unavailable?: unknown;
}

/**
 * Postgres SQLSTATEs of a server that is going away, refusing or out of resources or time:
 * 08 connection exception, 53 insufficient resources, 57P01-03 admin/crash shutdown and
 * "cannot connect now" (starting up), 57014 statement cancelled (statement_timeout),
 * 55P03 lock_timeout, 25P03 idle_in_transaction_session_timeout, 58 system (I/O) error.
 */
const sqlStates = /^(08...|53...|57P0[123]|57014|55P03|25P03|58...)$/;

/** Node's socket errors. */
const socketCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** NATS client errors of a connection that is closed, draining or not answering. */
const natsNames = new Set(['ClosedConnectionError', 'DrainingConnectionError', 'ConnectionError', 'TimeoutError', 'NoResponders']);

/**
 * pg and pg-pool report a lost or unobtainable connection as plain errors without a code: a
 * connection ended under a query, a client that lost its connection, the pool's acquire and the
 * client's connect timeouts, a pool already closed (the process is stopping).
 */
const driverMessages = [
  /^Connection terminated/,
  /is not queryable/,
  /^timeout exceeded when trying to connect/,
  /^timeout expired$/,
  /^Query read timeout/,
  /^Cannot use a pool after calling end on the pool/,
  /^database connection ended/,
];

function isOwnInfrastructureError(e: Describable): boolean {
  if (typeof e.unavailable === 'boolean') return e.unavailable;
  if (typeof e.code === 'string' && (sqlStates.test(e.code) || socketCodes.has(e.code))) return true;
  if (typeof e.name === 'string' && natsNames.has(e.name)) return true;
  return typeof e.message === 'string' && driverMessages.some((pattern) => pattern.test(e.message as string));
}
