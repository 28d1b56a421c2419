import { afterEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './harness.ts';

/** The pages as HTTP resources; what they do in a browser is tools/e2e/test/browser.test.ts. */

let running: TestGateway | undefined;

async function gateway(devEndpoints: boolean) {
  running = await startTestGateway(devEndpoints ? {} : { env: { DEV_ENDPOINTS: 'false' } });
  const gw = running;
  return (url: string, headers: Record<string, string> = {}) => gw.inject({ url, headers });
}

afterEach(async () => {
  await running?.cleanup();
  running = undefined;
});

/** Every module and stylesheet a page or script names, as absolute paths. */
function referencesOf(text: string, from: string): string[] {
  const found = [...text.matchAll(/(?:src|href)="([^"]+)"|from '([^']+)'|import\('([^']+)'\)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
  return found.filter((ref) => !ref.startsWith('#')).map((ref) => new URL(ref, `http://gateway${from}`).pathname);
}

describe('pages', () => {
  it('when DEV_ENDPOINTS is off, then the playground and its scripts answer 404 and the console is still served', async () => {
    const get = await gateway(false);
    const playground = await get('/playground');
    expect(playground.statusCode).toBe(404);
    expect(playground.json()).toMatchObject({ success: false, error: { code: 'NOT_FOUND' } });
    expect((await get('/pages/playground/playground.js')).statusCode).toBe(404);
    const console = await get('/console');
    expect(console.statusCode).toBe(200);
    expect(console.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(console.body).toContain('<h1>Offramp operator console</h1>');
  });

  it('when DEV_ENDPOINTS is on, then the playground is served with a strict content security policy and no inline script', async () => {
    const get = await gateway(true);
    const page = await get('/playground');
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<h1>Offramp Dev playground</h1>');
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(page.body).not.toMatch(/\son[a-z]+="/);
  });

  it('when a page is fetched again with its etag, then 304; an unknown asset, index.html by its asset path or a path outside the folder is 404', async () => {
    const get = await gateway(true);
    const first = await get('/pages/common/api.js');
    expect(first.statusCode).toBe(200);
    expect(first.headers['content-type']).toBe('text/javascript; charset=utf-8');
    const again = await get('/pages/common/api.js', { 'if-none-match': String(first.headers.etag) });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
    for (const url of [
      '/pages/common/nope.js',
      '/pages/console/index.html',
      '/pages/console/..%2F..%2Fapp.ts',
      '/pages/common/../pages-routes.ts',
      '/pages/secret/x.js',
    ]) {
      expect((await get(url)).statusCode, url).toBe(404);
    }
  });

  it('when the pages load, then every script and stylesheet they reference is served with its content type', async () => {
    const get = await gateway(true);
    const seen = new Set<string>();
    const queue = ['/console', '/playground'];
    while (queue.length > 0) {
      const path = queue.shift()!;
      if (seen.has(path)) continue;
      seen.add(path);
      const res = await get(path);
      expect(res.statusCode, path).toBe(200);
      if (path.endsWith('.css')) expect(res.headers['content-type'], path).toBe('text/css; charset=utf-8');
      if (path.endsWith('.js')) expect(res.headers['content-type'], path).toBe('text/javascript; charset=utf-8');
      if (!path.endsWith('.css')) queue.push(...referencesOf(res.body, path));
    }
    expect([...seen]).toEqual(
      expect.arrayContaining([
        '/pages/common/style.css',
        '/pages/console/detail.js',
        '/pages/playground/schema-form.js',
        '/pages/playground/event-stream.js',
      ]),
    );
  });
});
