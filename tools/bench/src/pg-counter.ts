import net from 'node:net';

/** What a process sent to Postgres through the counting proxy. */
export interface StatementCounts {
  /** Messages that make Postgres run something and answer: simple queries (Q) and executes (E). */
  roundTrips: number;
  /** Statements in them (a simple query may hold several separated by semicolons). */
  statements: number;
  /** Of those: begin, commit, rollback, savepoint, release. */
  transactionControl: number;
  /**
   * Statements Postgres had to parse (and plan): every statement of a simple query and every Parse
   * message. A named prepared statement run again on its connection is not parsed again.
   */
  parsed: number;
  /** Chunks of bytes the clients' connections delivered (after their startup): about one per socket write. */
  packets: number;
}

const sslRequest = 80877103;
const cancelRequest = 80877102;
const gssRequest = 80877104;
const control = /^\s*(begin|start\s+transaction|commit|end|rollback|savepoint|release)\b/i;

/** Statements in a simple query's text: semicolons outside quotes and comments split it. */
function splitStatements(sql: string): string[] {
  const out: string[] = [];
  let start = 0;
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === "'" || c === '"') {
      // A doubled quote is an escaped one; E'' strings escape with backslashes as well.
      const backslashes = c === "'" && i > 0 && (sql[i - 1] === 'E' || sql[i - 1] === 'e');
      i++;
      while (i < sql.length) {
        if (backslashes && sql[i] === '\\') i += 2;
        else if (sql[i] === c && sql[i + 1] === c) i += 2;
        else if (sql[i] === c) break;
        else i++;
      }
    } else if (c === '-' && sql[i + 1] === '-') {
      while (i < sql.length && sql[i] !== '\n') i++;
    } else if (c === ';') {
      out.push(sql.slice(start, i));
      start = i + 1;
    }
    i++;
  }
  out.push(sql.slice(start));
  return out.filter((s) => s.trim().length > 0);
}

/**
 * A TCP proxy in front of Postgres that reads the frontend protocol of every connection and counts
 * what is sent: how the benchmark learns statements per webhook without pg_stat_statements.
 * Counting can be reset; the bytes go through unchanged.
 */
export async function startPgCounter(target: { host: string; port: number }): Promise<{
  port: number;
  counts(): StatementCounts;
  reset(): void;
  close(): Promise<void>;
}> {
  const zero = (): StatementCounts => ({ roundTrips: 0, statements: 0, transactionControl: 0, parsed: 0, packets: 0 });
  let counts = zero();
  const sockets = new Set<net.Socket>();
  const count = (sql: string, roundTrip: 'simple' | 'execute') => {
    counts.roundTrips++;
    for (const statement of splitStatements(sql)) {
      counts.statements++;
      if (roundTrip === 'simple') counts.parsed++;
      if (control.test(statement)) counts.transactionControl++;
    }
  };

  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    sockets.add(client);
    sockets.add(upstream);
    const forget = () => {
      sockets.delete(client);
      sockets.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', forget).on('close', forget);
    upstream.on('error', forget).on('close', forget);
    upstream.pipe(client);
    let buffer: Buffer = Buffer.alloc(0);
    let startup = true;
    // The text of each statement parsed on this connection, by name ('' the unnamed one), and the one the last Bind named.
    const parsedTexts = new Map<string, string>();
    let bound = '';
    client.on('data', (chunk: Buffer) => {
      upstream.write(chunk);
      if (!startup) counts.packets++;
      buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
      for (;;) {
        if (startup) {
          if (buffer.length < 8) break;
          const length = buffer.readInt32BE(0);
          if (buffer.length < length) break;
          const code = buffer.readInt32BE(4);
          if (code !== sslRequest && code !== cancelRequest && code !== gssRequest) startup = false;
          buffer = buffer.subarray(length);
          continue;
        }
        if (buffer.length < 5) break;
        const type = String.fromCharCode(buffer[0]!);
        const length = buffer.readInt32BE(1);
        if (buffer.length < 1 + length) break;
        const body = buffer.subarray(5, 1 + length);
        if (type === 'Q') count(body.toString('utf8', 0, body.indexOf(0)), 'simple');
        else if (type === 'P') {
          const nameEnd = body.indexOf(0);
          parsedTexts.set(body.toString('utf8', 0, nameEnd), body.toString('utf8', nameEnd + 1, body.indexOf(0, nameEnd + 1)));
          counts.parsed++;
        } else if (type === 'B') {
          // Bind: the portal's name, then the statement's.
          const portalEnd = body.indexOf(0);
          bound = parsedTexts.get(body.toString('utf8', portalEnd + 1, body.indexOf(0, portalEnd + 1))) ?? '';
        } else if (type === 'E') count(bound, 'execute');
        buffer = buffer.subarray(1 + length);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    counts: () => ({ ...counts }),
    reset: () => void (counts = zero()),
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A counting proxy in front of the Postgres at `databaseUrl`, and that URL pointed through it. */
export async function countingDatabaseUrl(databaseUrl: string): Promise<{ counter: PgCounter; url: string }> {
  const url = new URL(databaseUrl);
  const counter = await startPgCounter({ host: url.hostname, port: Number(url.port || 5432) });
  url.hostname = '127.0.0.1';
  url.port = String(counter.port);
  return { counter, url: url.toString() };
}

/** A running counting proxy (`startPgCounter`). */
export type PgCounter = Awaited<ReturnType<typeof startPgCounter>>;
