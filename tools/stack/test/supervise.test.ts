import { type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { readStateFile } from '@offramp/alfred-sandbox';
import { createLogger } from '@offramp/kit';
import { eventually } from '@offramp/kit/testing';
import { spawnChild } from '../src/child.ts';
import { portIsFree } from '../src/probes.ts';
import { spawnChildStack, stackRunning, type StackExit } from '../src/child-stack.ts';
import { supervise, type Supervised } from '../src/supervise.ts';

type LogEvent = Record<string, unknown> & { msg?: string };

/** The kit's eventually, paced for a whole stack, that fails at once (naming `what`) once `stillValid` says the stack is gone. */
function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  stillValid?: () => string | undefined,
) {
  return eventually(
    what,
    () => {
      const broken = stillValid?.();
      if (broken) throw new Error(`${what}: ${broken}`);
      return probe();
    },
    { timeoutMs, intervalMs: 250 },
  );
}

/** JSON log lines written to memory, for the supervisor's own tests. */
function memoryLogger() {
  const events: LogEvent[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) events.push(JSON.parse(line) as LogEvent);
      done();
    },
  });
  return { log: createLogger({ name: 'stack', level: 'info', destination }), events };
}

describe('supervise: one service process', () => {
  let dir: string | undefined;
  const supervised: Supervised[] = [];
  afterEach(async () => {
    await Promise.all(supervised.splice(0).map((s) => s.stop('SIGKILL', 1_000)));
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  /**
   * A process whose n-th run (counted in a file) follows `plan[n]`: `exit` ends at once with code 3,
   * a number stays up that many ms and then exits 3, and past the plan it stays up until stopped.
   */
  async function flakyService(
    plan: ('exit' | number)[],
    opts: { initialMs: number; maxMs: number; stableAfterMs: number; restart?: boolean },
  ) {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'offramp-supervise-'));
    const counter = path.join(dir, 'runs');
    const script = `
      const fs = require('node:fs');
      const run = fs.existsSync(${JSON.stringify(counter)}) ? Number(fs.readFileSync(${JSON.stringify(counter)}, 'utf8')) : 0;
      fs.writeFileSync(${JSON.stringify(counter)}, String(run + 1));
      const step = ${JSON.stringify(plan)}[run];
      if (step === 'exit') process.exit(3);
      if (typeof step === 'number') setTimeout(() => process.exit(3), step);
      else setInterval(() => {}, 1000);
    `;
    const { log, events } = memoryLogger();
    const exitsWithoutRestart: unknown[] = [];
    const service = supervise({
      name: 'flaky',
      start: () => spawnChild({ name: 'flaky', command: process.execPath, args: ['-e', script], log }),
      log,
      backoff: opts,
      restartEnabled: () => opts.restart ?? true,
      onExitWithoutRestart: (exit) => exitsWithoutRestart.push(exit),
    });
    supervised.push(service);
    return { service, events, exitsWithoutRestart };
  }

  it('when the process keeps dying, then each death is logged with its exit code and it is restarted after a doubling, capped backoff; a run that stayed up resets it', async () => {
    const { service, events } = await flakyService(['exit', 'exit', 'exit', 'exit', 3_000, 'exit'], {
      initialMs: 20,
      maxMs: 100,
      stableAfterMs: 2_000,
    });
    await until('six restarts', () => (service.restarts() === 6 && service.current().running() ? true : undefined), 30_000);
    const deaths = events.filter((e) => e.msg?.startsWith('flaky exited unexpectedly'));
    expect(deaths.map((e) => [e.code, e.signal, e.restartInMs])).toEqual([
      [3, null, 20],
      [3, null, 40],
      [3, null, 80],
      [3, null, 100],
      // Up 3 s, past stableAfterMs: healthy, so the next death starts the backoff again.
      [3, null, 20],
      [3, null, 40],
    ]);
    expect(deaths[0]!.msg).toMatch(/^flaky exited unexpectedly \(exit code 3, pid \d+, up \d+ ms\); restarting in 20 ms$/);
    const restarts = events.filter((e) => e.msg?.startsWith('flaky: restarted'));
    expect(restarts.map((e) => e.restarts)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(new Set(restarts.map((e) => e.pid)).size).toBe(6);

    const stopped = await service.stop('SIGTERM', 5_000);
    expect(stopped).toEqual({ clean: true, exit: { code: null, signal: 'SIGTERM' } });
  });

  it('when it is stopped while a restart waits, then no process is started again and the stop is clean', async () => {
    const { service, events } = await flakyService(['exit'], { initialMs: 60_000, maxMs: 60_000, stableAfterMs: 60_000 });
    await until('the death', () => events.find((e) => e.msg?.startsWith('flaky exited unexpectedly')), 30_000);
    expect(await service.stop('SIGTERM', 5_000)).toEqual({ clean: true, exit: null });
    expect(service.restarts()).toBe(0);
    expect(service.current().running()).toBe(false);
  });

  it('when restarting is not enabled (the stack is still starting), then a death is handed over and not restarted', async () => {
    const { service, events, exitsWithoutRestart } = await flakyService(['exit'], {
      initialMs: 20,
      maxMs: 20,
      stableAfterMs: 60_000,
      restart: false,
    });
    await until('the death to be handed over', () => exitsWithoutRestart[0], 30_000);
    expect(exitsWithoutRestart).toEqual([{ code: 3, signal: null }]);
    expect(service.restarts()).toBe(0);
    expect(events.some((e) => e.msg?.includes('restarting'))).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------
// npm start with every service killed in turn while withdrawals are in flight.

const devSecret = 'supervise-dev-secret-0123456789';
const alfredKeys = { 'api-key': 'supervise-sandbox-key', 'api-secret': 'supervise-sandbox-secret' };
const partnerBase = '/api/v1/third-party-service/penny';
const killOrder = ['gateway', 'sessions', 'ledger', 'risk', 'psp-alfred', 'notifier', 'alfred-sandbox'];
const tradersCount = 3;
const perTrader = 10;
const terminalStatuses = ['completed', 'rejected'];

type Exit = StackExit;

interface Stack {
  child: ChildProcess;
  ports: Record<string, number>;
  url: (service: string) => string;
  events: LogEvent[];
  output: () => string;
  exited: Promise<Exit>;
}

interface Answer {
  status: number;
  /** The parsed JSON answer, untyped on purpose: each use checks the fields it reads. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above
  body: any;
}

interface Trader {
  id: string;
  token: string;
  customerId: string;
  fiatAccountId: string;
}

interface Withdrawal {
  trader: Trader;
  sessionId: string;
  id: string;
  debited: string;
  scenario: 'success' | 'failure';
}

interface SandboxOrder {
  transactionId: string;
  memo: string | null;
  status: string;
}

const running = stackRunning;

/** `npm start` as start.test.ts runs it (own data dir and ports, its own Postgres and NATS), with the QA endpoints on. */
async function startStack(dataDir: string): Promise<Stack> {
  let output = '';
  let partial = '';
  const events: LogEvent[] = [];
  const { child, ports, exited } = await spawnChildStack({
    dataDir,
    env: {
      DEV_ENDPOINTS: 'true',
      DEV_SECRET: devSecret,
      ALFRED_API_KEY: alfredKeys['api-key'],
      ALFRED_API_SECRET: alfredKeys['api-secret'],
      // Thirty withdrawals polled and retried by three traders are far above a person's rate.
      RATE_LIMIT_MAX: '100000',
    },
    unset: ['ALFRED_BASE_URL', 'ALFRED_WEBHOOK_URL', 'SANDBOX_STATE_FILE', 'JWT_PUBLIC_KEY'],
    // The stack's own lines are JSON; its children's are prefixed with their names.
    onOutput: (text, stream) => {
      output += text;
      if (stream !== 'stdout') return;
      const lines = (partial + text).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        if (!line.startsWith('{')) continue;
        const event = JSON.parse(line) as LogEvent;
        if (event.service === 'stack') events.push(event);
      }
    },
  });
  return { child, ports, url: (service) => `http://127.0.0.1:${ports[service]}`, events, output: () => output, exited };
}

async function request(url: string, method: string, opts: { headers?: Record<string, string>; body?: unknown } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  try {
    const res = await fetch(url, {
      method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: AbortSignal.timeout(20_000),
    });
    const text = await res.text();
    try {
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    } catch {
      return { status: res.status, body: text };
    }
  } catch (err) {
    // Connection refused or reset: the process behind it is being restarted.
    return { status: 0, body: String(err) };
  }
}

/** Tells the test where the stack stands: a stack that exited fails every wait at once. */
function stackGone(stack: Stack) {
  return () => (running(stack.child) ? undefined : `the stack exited: ${stack.output().slice(-4_000)}`);
}

function systemOf(stack: Stack) {
  const gateway = stack.url('gateway');
  const sandbox = stack.url('alfred-sandbox');
  const widget = (method: string, route: string, token?: string, body?: unknown) =>
    request(`${gateway}/psp/alfred${route}`, method, {
      headers: { 'x-dev-secret': devSecret, ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body,
    });
  const expectOk = async (what: string, answer: Promise<Answer>, status = 200) => {
    const a = await answer;
    expect(a.status, `${what}: ${JSON.stringify(a.body)}`).toBe(status);
    return a.body.data;
  };
  const sandboxOrders = async (): Promise<SandboxOrder[] | undefined> => {
    const a = await request(`${sandbox}/__emu/offramps`, 'GET');
    return a.status === 200 ? (a.body.offramps as SandboxOrder[]) : undefined;
  };
  const sandboxCustomer = (customerId: string) =>
    request(`${sandbox}${partnerBase}/customers/${customerId}`, 'GET', { headers: alfredKeys });
  return { widget, expectOk, sandboxOrders, sandboxCustomer };
}

type System = ReturnType<typeof systemOf>;

/** The README walkthrough's steps 1-6 for one trader: token, Brazilian KYC, Alfred customer approved, 1000 USDT, a PIX account. */
async function onboard(sys: System, stack: Stack, id: string): Promise<Trader> {
  const { token } = await sys.expectOk('token', sys.widget('POST', '/__dev/token', undefined, { sub: id }));
  const seeded = await sys.expectOk('seed-kyc-and-provision', sys.widget('POST', '/__dev/seed-kyc-and-provision?country=BR', token));
  await sys.expectOk('approve-kyc', sys.widget('POST', '/__dev/approve-kyc', token));
  await until(
    `${id} eligible`,
    async () => ((await sys.widget('GET', '/eligibility', token)).body?.data?.eligible === true ? true : undefined),
    60_000,
    stackGone(stack),
  );
  await sys.expectOk('fund', sys.widget('POST', '/__dev/fund', token, { amount: '1000', currency: 'USDT' }));
  const fields = { pixKey: '12345678909', documentNumber: '12345678909', accountName: seeded.kyc.kycName };
  const account = await sys.expectOk(
    'fiat account',
    sys.widget('POST', '/fiat-accounts', token, { type: 'PIX', fiatAccountFields: fields }),
    201,
  );
  return { id, token, customerId: seeded.customer.customerId, fiatAccountId: account.fiatAccountId };
}

/** Steps 8-9: a session for `amount` BRL by PIX and its initiation (the quote's USDT held). */
async function initiate(sys: System, trader: Trader, amount: string, scenario: Withdrawal['scenario']): Promise<Withdrawal> {
  const data = {
    type: 'withdrawal',
    amount,
    source_currency_id: 'BRL',
    payment_route_id: 'BR_PIX',
    wallet_id: 'MAIN',
    fiat_account_id: trader.fiatAccountId,
  };
  const session = await sys.expectOk('session', sys.widget('POST', '/session', trader.token, { data }), 201);
  const started = await sys.expectOk(
    'initiate',
    sys.widget('POST', '/initiate-withdrawal', trader.token, { session_id: session.session_id }),
  );
  return { trader, sessionId: session.session_id, id: started.withdrawal_id, debited: started.debited.amount, scenario };
}

/**
 * Step 11 until it is answered: while a service is down emit-offramp answers 503 (or nothing), and a
 * 409 after a lost answer means the walk already reached its end at Alfred, which the sandbox shows.
 */
async function drive(sys: System, stack: Stack, w: Withdrawal): Promise<void> {
  const end = w.scenario === 'success' ? 'FIAT_TRANSFER_COMPLETED' : 'FAILED';
  await until(
    `emit-offramp ${w.scenario} of ${w.id}`,
    async () => {
      const a = await sys.widget('POST', '/__dev/emit-offramp', w.trader.token, { session_id: w.sessionId, scenario: w.scenario });
      if (a.status === 200) return true;
      if (a.status !== 409) return undefined;
      const order = (await sys.sandboxOrders())?.find((o) => o.memo === w.id);
      return order?.status === end ? true : undefined;
    },
    240_000,
    stackGone(stack),
  );
}

/** The supervisor's last start (or restart) of a service: its pid. */
function pidOf(stack: Stack, service: string): number {
  const started = stack.events.filter(
    (e) => e.child === service && typeof e.pid === 'number' && /: (started|restarted), pid/.test(e.msg ?? ''),
  );
  return started.at(-1)!.pid as number;
}

const usdtMinor = (amount: string) => BigInt(amount.replace('.', ''));
const usdtText = (minor: bigint) => `${minor / 1_000_000n}.${(minor % 1_000_000n).toString().padStart(6, '0')}`;

describe('npm start supervises its services', () => {
  let dataDir: string | undefined;
  let stack: Stack | undefined;

  afterAll(async () => {
    // After a failed assertion the stack still runs; SIGINT lets it stop the servers it spawned.
    if (stack && running(stack.child)) {
      stack.child.kill('SIGINT');
      if ((await Promise.race([stack.exited, delay(60_000, 'timeout')])) === 'timeout') stack.child.kill('SIGKILL');
    }
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('when each service is killed -9 in turn with 30 withdrawals in flight, then the stack stays up, each comes back, every withdrawal ends once with exact balances, one order each at the sandbox, its customers intact, the ledger clean; SIGINT still exits 0', async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'offramp-supervise-'));
    // As root, Postgres runs as the postgres user, which must be able to reach its data directory.
    await fs.chmod(dataDir, 0o755);
    const s = await startStack(dataDir);
    stack = s;
    const gone = stackGone(s);
    await until('stack ready', () => s.events.find((e) => e.msg?.startsWith('stack ready')), 240_000, gone);
    const sys = systemOf(s);

    // Three traders, ten withdrawals each (every third one to fail at Alfred), all processing.
    const traders = await Promise.all(Array.from({ length: tradersCount }, (_, i) => onboard(sys, s, `supervise-${i}-${Date.now()}`)));
    const perTraderWithdrawals = await Promise.all(
      traders.map(async (trader, t) => {
        const out: Withdrawal[] = [];
        for (let i = 0; i < perTrader; i++) {
          const n = t * perTrader + i;
          out.push(await initiate(sys, trader, `${100 + n}.00`, n % 3 === 0 ? 'failure' : 'success'));
        }
        return out;
      }),
    );
    const withdrawals = perTraderWithdrawals.flat();
    expect(withdrawals).toHaveLength(30);
    const listOf = async (trader: Trader) =>
      (await sys.widget('GET', '/withdrawals?limit=100', trader.token)).body?.data?.withdrawals as
        { withdrawal_id: string; status: string; psp_transaction_id: string | null }[] | undefined;
    for (const trader of traders) {
      await until(
        `${trader.id}'s withdrawals processing`,
        async () => {
          const list = await listOf(trader);
          return list?.length === perTrader && list.every((w) => w.status === 'processing') ? true : undefined;
        },
        120_000,
        gone,
      );
    }
    const customersBefore = await Promise.all(traders.map(async (t) => (await sys.sandboxCustomer(t.customerId)).body));
    expect(customersBefore.map((c) => c.statusKyc)).toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED']);

    // Each service killed while a batch of withdrawals is being walked to its end; two are left for after.
    const batches = killOrder.map((_, i) => withdrawals.slice(i * 4, i * 4 + 4));
    const rest = withdrawals.slice(killOrder.length * 4);
    for (const [i, service] of killOrder.entries()) {
      const pid = pidOf(s, service);
      const driving = Promise.all(batches[i]!.map((w) => drive(sys, s, w)));
      process.kill(pid, 'SIGKILL');
      const died = await until(
        `${service}'s death in the log`,
        () => s.events.find((e) => e.child === service && e.pid === pid && e.msg?.includes('exited unexpectedly')),
        30_000,
        gone,
      );
      expect(died).toMatchObject({ signal: 'SIGKILL', code: null });
      expect(died.msg).toContain(`${service} exited unexpectedly (signal SIGKILL, pid ${pid}`);
      await until(
        `${service} ready again`,
        () => s.events.find((e) => e.child === service && e.msg?.startsWith(`${service}: ready again`) && e.pid !== pid),
        120_000,
        gone,
      );
      expect(pidOf(s, service)).not.toBe(pid);
      expect((await request(`${s.url(service)}/readyz`, 'GET')).status).toBe(200);
      await driving;
      expect(running(s.child)).toBe(true);
    }
    await Promise.all(rest.map((w) => drive(sys, s, w)));

    // Every withdrawal terminal with its scenario's outcome, each hold resolved, balances to the unit.
    for (const trader of traders) {
      const mine = withdrawals.filter((w) => w.trader === trader);
      const list = await until(
        `${trader.id}'s withdrawals terminal`,
        async () => {
          const l = await listOf(trader);
          return l?.length === perTrader && l.every((w) => terminalStatuses.includes(w.status)) ? l : undefined;
        },
        240_000,
        gone,
      );
      for (const w of mine)
        expect(list.find((x) => x.withdrawal_id === w.id)?.status, w.id).toBe(w.scenario === 'success' ? 'completed' : 'rejected');
      const debited = mine.filter((w) => w.scenario === 'success').reduce((sum, w) => sum + usdtMinor(w.debited), 0n);
      const usdt = await until(
        `${trader.id}'s holds settled`,
        async () => {
          const balances = (await sys.widget('GET', '/balances', trader.token)).body?.data as
            { currency: string; available: string; held: string }[] | undefined;
          const b = balances?.find((x) => x.currency === 'USDT');
          return b?.held === '0.000000' ? b : undefined;
        },
        120_000,
        gone,
      );
      expect(usdt).toEqual({ currency: 'USDT', available: usdtText(1_000_000_000n - debited), held: '0.000000' });

      // Exactly one order per withdrawal at Alfred, the one the withdrawal names, ended as it did.
      const orders = (await sys.sandboxOrders())!;
      for (const w of mine) {
        const theirs = orders.filter((o) => o.memo === w.id);
        expect(theirs, w.id).toHaveLength(1);
        expect(theirs[0]!.transactionId).toBe(list.find((x) => x.withdrawal_id === w.id)?.psp_transaction_id);
        expect(theirs[0]!.status).toBe(w.scenario === 'success' ? 'FIAT_TRANSFER_COMPLETED' : 'FAILED');
      }
    }
    expect((await sys.sandboxOrders())!).toHaveLength(30);

    // The sandbox was killed too: its customers are as they were, read back from its state file.
    const customersAfter = await Promise.all(traders.map(async (t) => (await sys.sandboxCustomer(t.customerId)).body));
    expect(customersAfter).toEqual(customersBefore);
    expect(readStateFile(path.join(dataDir, 'alfred-sandbox', 'state.json')).customers.size).toBe(tradersCount);

    const check = await request(`${s.url('ledger')}/ledger/check`, 'GET');
    expect(check.body?.data, JSON.stringify(check.body)).toMatchObject({ ok: true, mismatches: [] });

    // Ctrl-C right after a death (the service waiting to restart, or just restarted) still drains and exits 0.
    process.kill(pidOf(s, 'gateway'), 'SIGKILL');
    await until(
      'the gateway death in the log',
      () => s.events.filter((e) => e.child === 'gateway' && e.msg?.includes('exited unexpectedly')).at(1),
      30_000,
      gone,
    );
    s.child.kill('SIGINT');
    const exit = await Promise.race([s.exited, delay(90_000, { code: null, signal: null, timedOut: true })]);
    expect(exit, s.output().slice(-4_000)).toEqual({ code: 0, signal: null });
    expect(s.output()).toContain('database system is shut down');
    for (const [name, port] of Object.entries(s.ports)) {
      expect(await portIsFree(port), `${name} port ${port} still taken`).toBe(true);
    }
  }, 900_000);
});
