import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { freePort } from './testing-postgres.ts';

/** One request as the receiver got it: its headers, its raw body and when it arrived (ms). */
export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

/**
 * A real HTTP endpoint on 127.0.0.1 standing for a third party's server (a partner's webhook
 * receiver): it records every request and answers `answer(status)` (200 unless told). It is
 * stopped until `start()`: a request meanwhile meets a refused connection, as a server that is down;
 * `stop()` and `start()` again on the same port bring it down and back. `url(path)` names it.
 */
export async function startHttpReceiver(opts: { listen?: boolean } = {}) {
  const port = await freePort();
  const received: ReceivedRequest[] = [];
  let status = 200;
  let server: Server | null = null;
  const receiver = {
    received,
    port,
    url: (path = '/') => `http://127.0.0.1:${port}${path}`,
    answer(code: number) {
      status = code;
    },
    async start() {
      if (server) return;
      const s = createServer((req, res) => {
        let body = '';
        req.setEncoding('utf8');
        req.on('data', (chunk: string) => (body += chunk));
        req.on('end', () => {
          received.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, at: Date.now() });
          res.writeHead(status).end();
        });
      });
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(port, '127.0.0.1', () => resolve());
      });
      server = s;
    },
    async stop() {
      const s = server;
      server = null;
      if (s) await new Promise<void>((resolve) => s.close(() => resolve()).closeAllConnections());
    },
  };
  if (opts.listen !== false) await receiver.start();
  return receiver;
}

export type HttpReceiver = Awaited<ReturnType<typeof startHttpReceiver>>;
