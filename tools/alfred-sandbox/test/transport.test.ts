import { afterAll, describe, expect, it } from 'vitest';
import { basePath, readSandboxConfig } from '../src/app.ts';
import { startSandbox } from './harness.ts';

const sandbox = startSandbox();
afterAll(() => sandbox.close());

describe('transport', () => {
  it('when api-key or api-secret is missing or wrong, then 401 111305 and the call is still logged', async () => {
    const missing = await sandbox.app.inject({ method: 'GET', url: `${basePath}/allConfigs` });
    expect(missing.statusCode).toBe(401);
    expect(missing.json()).toEqual({ errorCode: 111305, errorMessage: 'Unauthorized' });
    const wrong = await sandbox.app.inject({
      method: 'GET',
      url: `${basePath}/allConfigs`,
      headers: { 'api-key': 'test-key', 'api-secret': 'guess' },
    });
    expect(wrong.statusCode).toBe(401);
    const logged = (await sandbox.emu('GET', '/requests?pathPrefix=/allConfigs')).json().requests;
    expect(logged.map((r: { statusCode: number }) => r.statusCode)).toEqual([401, 401]);
  });

  it('when a partner route does not exist, then 404 in the error envelope', async () => {
    const res = await sandbox.call('GET', '/nothing-here');
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ errorCode: 111404, errorMessage: `Route GET ${basePath}/nothing-here not found` });
  });

  it('when the body is not JSON, then 400 111300', async () => {
    const broken = await sandbox.app.inject({
      method: 'POST',
      url: `${basePath}/quotes`,
      headers: { 'api-key': 'test-key', 'api-secret': 'test-secret', 'content-type': 'application/json' },
      payload: '{"fromCurrency":',
    });
    expect(broken.statusCode).toBe(400);
    expect(broken.json()).toEqual({ errorCode: 111300, errorMessage: 'Body is not valid JSON' });
  });

  it('when emulator controls are called without credentials, then they answer, and they are not in the partner-call log', async () => {
    const res = await sandbox.emu('GET', '/config');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ webhookDelivery: true, webhookMaxAttempts: 11, bankUsaWorks: false, signatureFormat: 'dot' });
    expect(sandbox.state.requests.some((r) => r.path.startsWith('/__emu'))).toBe(false);
  });

  it('when the environment is empty, then the documented defaults apply; a bad variable is named, never its value', () => {
    expect(readSandboxConfig({})).toMatchObject({
      PORT: 8090,
      HOST: '127.0.0.1',
      ALFRED_API_KEY: 'sandbox-key',
      ALFRED_API_SECRET: 'sandbox-secret',
      ALFRED_WEBHOOK_SECRET: 'sandbox-webhook-secret',
      ALFRED_WEBHOOK_SIGNATURE_FORMAT: 'dot',
    });
    expect(readSandboxConfig({ ALFRED_WEBHOOK_URL: '' }).ALFRED_WEBHOOK_URL).toBeUndefined();
    expect(() => readSandboxConfig({ PORT: 'eighty', ALFRED_WEBHOOK_URL: 'ftp://secret-host' })).toThrow(/PORT[\s\S]*ALFRED_WEBHOOK_URL/);
    expect(() => readSandboxConfig({ ALFRED_WEBHOOK_URL: 'ftp://secret-host' })).not.toThrow(/secret-host/);
  });
});
