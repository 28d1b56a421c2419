import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bannerRows, lineFormatter, logFormatOf, readyBanner, readySummary, type BannerFacts } from '../src/output.ts';

const repoRoot = path.resolve(import.meta.dirname, '../../..');
const startScript = path.join(repoRoot, 'tools/stack/src/start.ts');

const facts: BannerFacts = {
  gatewayUrl: 'http://127.0.0.1:8080',
  pspAlfredUrl: 'http://127.0.0.1:8081',
  sandboxUrl: 'http://127.0.0.1:8090',
  playground: false,
  postgres: 'embedded Postgres 127.0.0.1:54329',
  nats: 'nats-server 127.0.0.1:4223',
  logFormat: 'pretty',
};

/** Runs start.ts with a configuration it refuses (it logs one fatal line and exits 1), on a terminal (`script`) or piped. */
function startWithBadConfig(opts: { tty: boolean; env?: Record<string, string> }): string {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, TERM: 'xterm', LOG_LEVEL: 'not-a-level', ...opts.env };
  const command = [process.execPath, startScript];
  const result = opts.tty
    ? // util-linux script(1) gives the command a pseudo-terminal as stdout.
      spawnSync('script', ['-q', '-e', '-c', command.map((a) => `'${a}'`).join(' '), '/dev/null'], {
        env,
        encoding: 'utf8',
        timeout: 60_000,
      })
    : spawnSync(command[0]!, command.slice(1), { env, encoding: 'utf8', timeout: 60_000 });
  expect(result.status, `${result.stdout}${result.stderr}`).toBe(1);
  return `${result.stdout}${result.stderr}`;
}

describe('npm start output', () => {
  it('when the format is decided, then it is pretty on a terminal outside CI and JSON piped, in CI or with LOG_FORMAT=json', () => {
    expect(logFormatOf({}, true)).toBe('pretty');
    expect(logFormatOf({}, false)).toBe('json');
    expect(logFormatOf({ CI: 'true' }, true)).toBe('json');
    expect(logFormatOf({ LOG_FORMAT: 'json' }, true)).toBe('json');
    expect(logFormatOf({ LOG_FORMAT: 'pretty' }, false)).toBe('pretty');
  });

  it('when start.ts logs on a real terminal, then the line is human-readable; piped or with LOG_FORMAT=json it is a JSON object', () => {
    const onTerminal = startWithBadConfig({ tty: true });
    expect(onTerminal).toMatch(/FATAL.*cannot start the stack/);
    expect(onTerminal).not.toContain('{"level":');
    const piped = startWithBadConfig({ tty: false });
    const line = JSON.parse(piped.split('\n').find((l) => l.startsWith('{'))!) as { level: number; msg: string };
    expect(line).toMatchObject({ level: 60, msg: 'cannot start the stack' });
    expect(startWithBadConfig({ tty: true, env: { LOG_FORMAT: 'json' } })).toContain('"msg":"cannot start the stack"');
    expect(startWithBadConfig({ tty: true, env: { CI: 'true' } })).toContain('"msg":"cannot start the stack"');
  }, 120_000);

  it("when a service's JSON line is echoed in pretty mode, then it reads as time, level, message and fields; other lines and JSON mode pass unchanged", () => {
    const json = '{"level":40,"time":"2026-11-30T07:00:00.000Z","service":"ledger","name":"ledger","msg":"nats reconnecting","attempt":3}';
    const pretty = lineFormatter('pretty')(json);
    expect(pretty).toMatch(/WARN/);
    expect(pretty).toContain('nats reconnecting');
    expect(pretty).toContain('"attempt":3');
    expect(pretty).not.toContain('"msg"');
    expect(pretty.split('\n')).toHaveLength(1);
    expect(lineFormatter('pretty')('    at Object.<anonymous> (file.ts:1:1)')).toBe('    at Object.<anonymous> (file.ts:1:1)');
    expect(lineFormatter('pretty')('[1, 2]')).toBe('[1, 2]');
    expect(lineFormatter('json')(json)).toBe(json);
  });

  it('when the stack is ready, then the banner names the gateway, /docs, /console, the webhook, the sandbox, e-mail and how to stop', () => {
    const banner = readyBanner(facts);
    for (const text of [
      'Offramp is ready.',
      'http://127.0.0.1:8080\n',
      'http://127.0.0.1:8080/docs',
      'http://127.0.0.1:8080/console',
      'http://127.0.0.1:8081/psp/alfred/webhook',
      'http://127.0.0.1:8090 (the sandbox emulator)',
      'E-mail      off: no SMTP_URL, no mail catcher',
      'Ctrl-C',
    ])
      expect(banner).toContain(text);
    expect(banner).not.toContain('/playground');
    expect(banner).toMatch(/Playground {2}off \(start with DEV_ENDPOINTS=true DEV_SECRET=/);
  });

  it('when the playground is on, SMTP_URL is set and Alfred is real, then the banner names /playground, the SMTP server without credentials, and no sandbox', () => {
    const banner = readyBanner({ ...facts, playground: true, smtpUrl: 'smtp://user:s3cret@mail.example.com:2525', sandboxUrl: undefined });
    expect(banner).toContain('Playground  http://127.0.0.1:8080/playground');
    expect(banner).toContain('smtp://mail.example.com:2525');
    expect(banner).not.toContain('s3cret');
    expect(banner).not.toContain('user:');
    expect(banner).not.toContain('sandbox');
  });

  it('when the output is JSON, then the one stack ready line carries the same facts', () => {
    const summary = readySummary({ ...facts, logFormat: 'json' });
    expect(
      summary.startsWith(
        'stack ready; Gateway http://127.0.0.1:8080; API docs http://127.0.0.1:8080/docs; Console http://127.0.0.1:8080/console',
      ),
    ).toBe(true);
    for (const [label, value] of bannerRows({ ...facts, logFormat: 'json' })) expect(summary).toContain(`${label} ${value}`);
    expect(summary).toContain('Ctrl-C');
  });
});
