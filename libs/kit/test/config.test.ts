import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { baseConfig, ConfigError, loadConfig, createLogger } from '../src/index.ts';

describe('config', () => {
  const schema = baseConfig.extend({ PORT: z.coerce.number().int().default(8080) });

  it('when the environment is complete, then values are parsed with their defaults', () => {
    const c = loadConfig(schema, { DATABASE_URL: 'postgres://u@h:5432/db' });
    expect(c).toMatchObject({ DATABASE_URL: 'postgres://u@h:5432/db', NATS_URL: 'nats://127.0.0.1:4222', PORT: 8080, NATS_NAMESPACE: '' });
  });

  it('when variables are missing or malformed, then it fails fast naming each one but never its value', () => {
    let error: unknown;
    try {
      loadConfig(schema, { DATABASE_URL: 'mysql://secret-password@h/db', PORT: 'eighty', NATS_NAMESPACE: 'Bad.NS' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain('DATABASE_URL');
    expect(message).toContain('PORT');
    expect(message).toContain('NATS_NAMESPACE');
    expect(message).not.toContain('secret-password');
  });

  it('when MIGRATE_ON_START is true or 1, then it is on; unset, false, 0 or empty, off; anything else is refused naming it', () => {
    const migrate = (value?: string) =>
      loadConfig(schema, { DATABASE_URL: 'postgres://u@h:5432/db', ...(value === undefined ? {} : { MIGRATE_ON_START: value }) })
        .MIGRATE_ON_START;
    expect([migrate('true'), migrate('1')]).toEqual([true, true]);
    expect([migrate(), migrate('false'), migrate('0'), migrate('')]).toEqual([false, false, false, false]);
    expect(() => migrate('yes')).toThrow(ConfigError);
    expect(() => migrate('yes')).toThrow(/MIGRATE_ON_START/);
  });
});

describe('logger', () => {
  it('when a log line carries secrets, bank numbers or documents, then they are redacted', () => {
    const lines: string[] = [];
    const log = createLogger({ name: 't', destination: { write: (s: string) => void lines.push(s) } });
    log.info(
      {
        account: { accountNumber: '012345678901234567', pixKey: 'a@b.c', documentNumber: '12345678909' },
        req: { headers: { authorization: 'Bearer x', 'x-dev-secret': 'dev-s3cret' } },
        DATABASE_URL: 'postgres://p@h/db',
      },
      'hello',
    );
    const out = lines.join('');
    for (const secret of ['012345678901234567', 'a@b.c', '12345678909', 'Bearer x', 'dev-s3cret', 'postgres://p@h/db'])
      expect(out).not.toContain(secret);
    expect(out).toContain('[redacted]');
    expect(JSON.parse(out).msg).toBe('hello');
  });
});
