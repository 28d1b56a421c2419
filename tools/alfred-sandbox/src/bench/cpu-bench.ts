import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { stdnum } from 'stdnum';

/*
 * npm exec -- node tools/alfred-sandbox/src/bench/cpu-bench.ts [-- --withdrawals 300 --concurrency 10 --runs 3]
 *
 * The sandbox's CPU per withdrawal as the e2e benchmark makes it pay, measured on the sandbox's own
 * process (utime + stime from /proc), so the figure does not depend on how busy the machine is:
 * the sandbox runs as `npm start` runs it (its server, a state file in a throwaway directory,
 * webhooks to a receiver in this process); per withdrawal this process makes the calls psp-alfred
 * makes (two quotes, the order with an Idempotency-Key, the order read back, the four driver calls
 * of a success walk) and waits for the four webhooks. Prints one JSON line.
 */

const { values: args } = parseArgs({
  options: {
    withdrawals: { type: 'string', default: '300' },
    concurrency: { type: 'string', default: '10' },
    runs: { type: 'string', default: '3' },
    /** The sandbox's server.ts to run (default: this checkout's), to compare another version of it on the same machine. */
    entry: { type: 'string' },
    /** Runs the sandbox without a state file: what the persistence costs is the difference. */
    'memory-only': { type: 'boolean', default: false },
    /** Writes a CPU profile of the sandbox (node --cpu-prof) into this directory when it stops. */
    'cpu-prof': { type: 'string' },
  },
});
const withdrawals = Number(args.withdrawals);
const concurrency = Number(args.concurrency);
const runs = Number(args.runs);
const credentials = { 'api-key': 'bench-key', 'api-secret': 'bench-secret' };
const base = '/api/v1/third-party-service/penny';
const walk = ['ON_CHAIN_DEPOSIT_RECEIVED', 'TRADE_COMPLETED', 'FIAT_TRANSFER_INITIATED', 'FIAT_TRANSFER_COMPLETED'];

const progress = (line: string) => process.stderr.write(`[sandbox-bench] ${line}\n`);

/** CPU seconds of a process so far (user + system). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // In clock ticks of 1/100 s (CLK_TCK on Linux).
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** A CLABE with a valid check digit. */
function clabe(): string {
  for (let n = 0; n < 10; n++) if (stdnum.MX!.clabe!.validate(`00201007777777777${n}`).isValid) return `00201007777777777${n}`;
  throw new Error('no CLABE');
}

async function main() {
  // Webhooks: counted per transaction id, so each walk knows when its four arrived.
  const waiting = new Map<string, { left: number; done: () => void }>();
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { referenceId: string };
      const entry = waiting.get(body.referenceId);
      if (entry && --entry.left === 0) entry.done();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const receiverPort = (receiver.address() as AddressInfo).port;

  const dir = mkdtempSync(path.join(os.tmpdir(), 'sandbox-bench-'));
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const server = args.entry === undefined ? fileURLToPath(new URL('../server.ts', import.meta.url)) : path.resolve(args.entry);
  const profile = args['cpu-prof'] === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${path.resolve(args['cpu-prof'])}`];
  const child = spawn(process.execPath, [...profile, server], {
    env: {
      ...process.env,
      PORT: String(port),
      LOG_LEVEL: 'warn',
      ALFRED_API_KEY: credentials['api-key'],
      ALFRED_API_SECRET: credentials['api-secret'],
      ALFRED_WEBHOOK_URL: `http://127.0.0.1:${receiverPort}/webhooks/alfred`,
      SANDBOX_STATE_FILE: args['memory-only'] ? '' : path.join(dir, 'state.json'),
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    for (let i = 0; ; i++) {
      const ok = await fetch(`${url}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (i > 200) throw new Error('the sandbox did not start');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const call = async (method: string, p: string, body?: object, headers: Record<string, string> = {}) => {
      const res = await fetch(`${url}${p}`, {
        method,
        headers: { ...credentials, ...headers, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      if (res.status >= 300) throw new Error(`${method} ${p}: ${res.status} ${text}`);
      return text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
    };

    // One customer and account per worker, as the traders of the e2e benchmark.
    const accounts = await Promise.all(
      Array.from({ length: concurrency }, async (_, i) => {
        const { customerId } = (await call('POST', `${base}/customers/create`, {
          email: `bench-${i}-${port}@example.com`,
          type: 'INDIVIDUAL',
          country: 'MX',
        })) as { customerId: string };
        await call('POST', `/__emu/kyc/${customerId}`, { status: 'COMPLETED' });
        const fields = { accountNumber: clabe(), accountType: 'CLABE', metadata: { accountHolderName: 'Maria Lopez' } };
        const { fiatAccountId } = (await call('POST', `${base}/fiatAccounts`, {
          customerId,
          type: 'SPEI',
          fiatAccountFields: fields,
        })) as { fiatAccountId: string };
        return { customerId, fiatAccountId };
      }),
    );

    const one = async (account: { customerId: string; fiatAccountId: string }, n: number) => {
      // The session's quote (the fiat amount the trader asked for), then the order's (the USDT held).
      const sessionQuote = await call('POST', `${base}/quotes`, {
        fromCurrency: 'USDT',
        toCurrency: 'MXN',
        toAmount: '1000.00',
        chain: 'TRON',
        paymentMethodType: 'BANK',
        metadata: { customerId: account.customerId },
      });
      const quote = await call('POST', `${base}/quotes`, {
        fromCurrency: 'USDT',
        toCurrency: 'MXN',
        fromAmount: sessionQuote.fromAmount,
        chain: 'TRON',
        paymentMethodType: 'BANK',
        metadata: { customerId: account.customerId },
      });
      const order = (await call(
        'POST',
        `${base}/offramp`,
        {
          customerId: account.customerId,
          quoteId: quote.quoteId,
          fromCurrency: 'USDT',
          toCurrency: 'MXN',
          amount: quote.fromAmount,
          chain: 'TRON',
          fiatAccountId: account.fiatAccountId,
          originAddress: 'Tsender',
        },
        { 'idempotency-key': `bench-${port}-${n}` },
      )) as { transactionId: string };
      const arrived = new Promise<void>((done) => waiting.set(order.transactionId, { left: walk.length, done }));
      await call('GET', `${base}/offramp/${order.transactionId}`);
      for (const status of walk) {
        await call('POST', `${base}/webhooks`, { referenceId: order.transactionId, eventType: 'OFFRAMP', status, metadata: {} });
      }
      await arrived;
      waiting.delete(order.transactionId);
    };

    const perWithdrawalMs: number[] = [];
    let counter = 0;
    for (let run = 0; run < runs; run++) {
      const before = cpuSeconds(child.pid!);
      let next = 0;
      await Promise.all(
        accounts.map(async (account) => {
          while (next < withdrawals) {
            next++;
            await one(account, counter++);
          }
        }),
      );
      const used = cpuSeconds(child.pid!) - before;
      perWithdrawalMs.push(Math.round((used * 1_000_000) / withdrawals) / 1000);
      progress(`run ${run + 1}: ${withdrawals} withdrawals, sandbox CPU ${Math.round(used * 100) / 100} s`);
    }
    process.stdout.write(
      `${JSON.stringify({ bench: 'alfred-sandbox-cpu', withdrawals, concurrency, cpuMsPerWithdrawal: perWithdrawalMs })}\n`,
    );
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    receiver.closeAllConnections();
    receiver.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
