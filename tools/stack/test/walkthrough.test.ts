import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually } from '@offramp/kit/testing';
import { portIsFree } from '../src/probes.ts';
import { spawnChildStack, stackRunning, type StackExit } from '../src/child-stack.ts';

const repoRoot = path.resolve(import.meta.dirname, '../../..');
const readmeSection = 'Walkthrough (QA, by copy and paste)';
const docsSection = 'The failure path';

type Exit = StackExit;

interface Stack {
  child: ChildProcess;
  gateway: string;
  ports: Record<string, number>;
  output: () => string;
  exited: Promise<Exit>;
}

/** The text of a `## title` section: from its heading to the next `## ` heading. */
function section(markdown: string, title: string): string {
  const start = markdown.indexOf(`\n## ${title}\n`);
  if (start < 0) throw new Error(`no section "## ${title}"`);
  const rest = markdown.slice(start + title.length + 5);
  const end = rest.search(/^## /m);
  return end < 0 ? rest : rest.slice(0, end);
}

/** The bodies of the fenced code blocks of one language, in order: what a reader copies and pastes. */
function codeBlocks(text: string, language: string): string[] {
  return [...text.matchAll(new RegExp(`^\`\`\`${language}\\n([\\s\\S]*?)^\`\`\`$`, 'gm'))].map((m) => m[1]!);
}

/** The walkthrough as written: the README's bash blocks, the docs' failure path, the secret npm start is given. */
async function readWalkthrough() {
  const readme = section(await fs.readFile(path.join(repoRoot, 'README.md'), 'utf8'), readmeSection);
  const docs = section(await fs.readFile(path.join(repoRoot, 'docs/walkthrough.md'), 'utf8'), docsSection);
  const startLine = codeBlocks(readme, 'sh').join('\n');
  const devSecret = /DEV_ENDPOINTS=true DEV_SECRET=(\S+) npm start/.exec(startLine)?.[1];
  const scriptDefault = /DEV_SECRET=\$\{DEV_SECRET:-(\S+?)\}/.exec(readme)?.[1];
  return { script: codeBlocks(readme, 'bash').join('\n'), failurePath: codeBlocks(docs, 'bash').join('\n'), devSecret, scriptDefault };
}

/** `npm start` as start.test.ts runs it (own data dir and ports, no DATABASE_URL / NATS_URL), with the QA endpoints on. */
async function startStack(dataDir: string, devSecret: string): Promise<Stack> {
  let output = '';
  const { child, ports, exited } = await spawnChildStack({
    dataDir,
    env: { DEV_ENDPOINTS: 'true', DEV_SECRET: devSecret },
    onOutput: (text) => (output += text),
  });
  return { child, gateway: `http://127.0.0.1:${ports.gateway}`, ports, output: () => output, exited };
}

const running = stackRunning;

/** Runs a script with bash as a reader would, with the settings the walkthrough reads from the environment. */
function runBash(script: string, vars: Record<string, string>, timeoutMs: number): Promise<{ code: number | null; output: string }> {
  // The walkthrough's own defaults and helpers' state must not come from the caller's shell.
  const unset = new Set(['DEV_SECRET', 'QUIET', 'TOKEN', 'DATA']);
  const env = Object.fromEntries(Object.entries({ ...process.env, ...vars }).filter(([name]) => !unset.has(name)));
  const child = spawn('bash', ['-c', script], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    }),
  );
}

interface TraderView {
  withdrawals: { status: string; crypto_amount: string; timeline: { to: string; actor: string }[] }[];
  total: number;
  usdt: { currency: string; available: string; held: string } | undefined;
}

/** The gateway as the trader, to check the state independently of the script's own checks. */
async function traderView(gateway: string, devSecret: string, trader: string): Promise<TraderView> {
  const call = async (method: string, url: string, token?: string, body?: unknown): Promise<unknown> => {
    const headers: Record<string, string> = { 'x-dev-secret': devSecret };
    if (token) headers.authorization = `Bearer ${token}`;
    if (body) headers['content-type'] = 'application/json';
    const res = await fetch(`${gateway}/psp/alfred${url}`, { method, headers, body: body ? JSON.stringify(body) : undefined });
    const answer = (await res.json()) as { data: unknown };
    expect(res.status, `${url}: ${JSON.stringify(answer)}`).toBe(200);
    return answer.data;
  };
  const { token } = (await call('POST', '/__dev/token', undefined, { sub: trader })) as { token: string };
  const list = (await call('GET', '/withdrawals', token)) as Pick<TraderView, 'withdrawals' | 'total'>;
  const balances = (await call('GET', '/balances', token)) as NonNullable<TraderView['usdt']>[];
  return { ...list, usdt: balances.find((b) => b.currency === 'USDT') };
}

/** Exact 1000 USDT minus the given USDT amounts (6 decimals), through bigint. */
function fundedMinus(...amounts: string[]): string {
  const minor = amounts.reduce((left, a) => left - BigInt(a.replace('.', '')), 1_000_000_000n);
  return `${minor / 1_000_000n}.${(minor % 1_000_000n).toString().padStart(6, '0')}`;
}

/** The README alone, for a new trader: one withdrawal, completed, its debit gone from the balance. */
async function expectCompletedRun(script: string, gateway: string, devSecret: string): Promise<void> {
  const trader = `walkthrough-${randomUUID()}`;
  const run = await runBash(script, { BASE: gateway, TRADER: trader }, 90_000);
  expect(run.code, run.output).toBe(0);
  expect(run.output).toContain('"status":"completed"');
  expect(run.output).toMatch(/withdrawal \S+ completed: USDT 1000\.000000 -> \d+\.\d{6} \(debited \d+\.\d{6}\)/);
  const view = await traderView(gateway, devSecret, trader);
  expect(view.total).toBe(1);
  const [done] = view.withdrawals;
  expect(done!.status).toBe('completed');
  expect(done!.timeline.at(-1)).toMatchObject({ to: 'completed', actor: 'alfred' });
  expect(view.usdt).toEqual({ currency: 'USDT', available: fundedMinus(done!.crypto_amount), held: '0.000000' });
}

/** The README then the docs' failure path, for another trader: completed, then rejected with the USDT back. */
async function expectRejectedRun(script: string, gateway: string, devSecret: string): Promise<void> {
  const trader = `walkthrough-${randomUUID()}`;
  const run = await runBash(script, { BASE: gateway, TRADER: trader }, 120_000);
  expect(run.code, run.output).toBe(0);
  expect(run.output).toContain('"status":"rejected"');
  expect(run.output).toMatch(/withdrawal \S+ rejected: USDT back to \d+\.\d{6}/);
  const view = await traderView(gateway, devSecret, trader);
  expect(view.total).toBe(2);
  expect(view.withdrawals.map((w) => w.status).sort()).toEqual(['completed', 'rejected']);
  const kept = view.withdrawals.find((w) => w.status === 'completed')!;
  expect(view.usdt).toEqual({ currency: 'USDT', available: fundedMinus(kept.crypto_amount), held: '0.000000' });
}

describe('the README walkthrough', () => {
  let dataDir: string | undefined;
  let stack: Stack | undefined;

  afterAll(async () => {
    // After a failed assertion the stack still runs; SIGINT lets it stop the servers it spawned.
    if (stack && running(stack.child)) {
      stack.child.kill('SIGINT');
      if ((await Promise.race([stack.exited, delay(30_000, 'timeout')])) === 'timeout') stack.child.kill('SIGKILL');
    }
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('when its blocks are pasted into bash against npm start, then the withdrawal completes and the balance is down by the debit; the failure path restores it; SIGINT stops all, exit 0', async () => {
    const walkthrough = await readWalkthrough();
    expect(walkthrough.script).toContain('set -eo pipefail');
    expect(walkthrough.failurePath).toContain('scenario: "failure"');
    expect(walkthrough.devSecret, 'the npm start line of the walkthrough').toBeDefined();
    expect(walkthrough.scriptDefault).toBe(walkthrough.devSecret);
    const devSecret = walkthrough.devSecret!;

    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'offramp-walkthrough-'));
    // As root, Postgres runs as the postgres user, which must be able to reach its data directory.
    await fs.chmod(dataDir, 0o755);
    stack = await startStack(dataDir, devSecret);
    const { gateway, child, output } = stack;
    let status = 0;
    await eventually(
      () => `the gateway's /readyz to answer 200 (last: ${status})\n${output()}`,
      async () => {
        if (!running(child)) throw new Error(`the stack exited before the gateway was ready:\n${output()}`);
        status = await fetch(`${gateway}/readyz`, { signal: AbortSignal.timeout(2_000) }).then(
          (r) => r.status,
          () => 0,
        );
        return status === 200;
      },
      { timeoutMs: 150_000, intervalMs: 500 },
    );

    await expectCompletedRun(walkthrough.script, gateway, devSecret);
    await expectRejectedRun(`${walkthrough.script}\n${walkthrough.failurePath}`, gateway, devSecret);

    stack.child.kill('SIGINT');
    const exit = await Promise.race([stack.exited, delay(60_000, { code: null, signal: null, timedOut: true })]);
    expect(exit, stack.output()).toEqual({ code: 0, signal: null });
    expect(stack.output()).toContain('gateway: closed');
    expect(stack.output()).toContain('database system is shut down');
    for (const [name, port] of Object.entries(stack.ports)) {
      expect(await portIsFree(port), `${name} port ${port} still taken`).toBe(true);
    }
  }, 300_000);
});
