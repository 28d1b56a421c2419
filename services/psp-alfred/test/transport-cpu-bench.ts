import { spawn } from 'node:child_process';
import { z } from 'zod';
import { testLogger } from '@offramp/kit/testing';

/*
 * npm exec -- node services/psp-alfred/test/transport-cpu-bench.ts [transport module] [requests per round]
 *
 * CPU microseconds per Alfred request spent in this process by the transport (the breaker, the
 * HTTP client, the answer's parse), measured with process.cpuUsage so that the figure does not
 * depend on how busy the machine is: POST /quotes 4 at a time to a minimal HTTP server in a child
 * process (its CPU is not counted), 4 rounds after a warm-up. The module defaults to this
 * checkout's transport.ts; give another version's path (e.g. `git show REV:…/transport.ts` saved
 * next to it) to compare. Prints one JSON line.
 */

const mod = process.argv[2] ?? new URL('../src/alfred/transport.ts', import.meta.url).pathname;
const n = Number(process.argv[3] ?? 3000);
const { createAlfredTransport } = (await import(mod)) as typeof import('../src/alfred/transport.ts');

const serverCode = `
const http = require('node:http');
const body = JSON.stringify({ quoteId: 'q-1', fromAmount: '50.000000', toAmount: '800.00', rate: '16', fees: [] });
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(body));
});
server.keepAliveTimeout = 72000;
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));`;
const child = spawn(process.execPath, ['-e', serverCode], { stdio: ['ignore', 'pipe', 'inherit'] });
const port = await new Promise<string>((resolve) => child.stdout.once('data', (d) => resolve(String(d).trim())));

const transport = createAlfredTransport({
  baseUrl: `http://127.0.0.1:${port}/api`,
  apiKey: 'bench-key',
  apiSecret: 'bench-secret',
  timeoutMs: 5_000,
  getRetries: 0,
  breaker: { resetMs: 60_000, errorPercent: 50, volume: 3, windowMs: 10_000 },
  log: testLogger('transport-bench'),
});
const req = {
  method: 'POST',
  endpoint: '/quotes',
  path: '/quotes',
  body: { toCurrency: 'MXN', fromAmount: '50.000000', chain: 'TRON', customerId: 'c' },
} as const;
const schema = z.object({ quoteId: z.string() }).loose();

/** `count` requests, 4 in flight at a time (a few commands at once). */
const round = async (count: number) => {
  let left = count;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (left-- > 0) if (!(await transport.request(req, schema)).ok) throw new Error('refused');
    }),
  );
};

await round(500);
const usPerRequest: number[] = [];
for (let r = 0; r < 4; r++) {
  const before = process.cpuUsage();
  await round(n);
  const used = process.cpuUsage(before);
  usPerRequest.push(Math.round((used.user + used.system) / n));
}
console.log(JSON.stringify({ transport: mod.split('/').pop(), requests: n, usPerRequest }));
transport.close();
child.kill();
