import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire, stripTypeScriptTypes } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * What the widget page is made of: the page with its import map, its script, the typed client and
 * openapi-fetch, each an ES module as the browser gets it. TypeScript is served with its types
 * stripped by Node (`module.stripTypeScriptTypes`), the same erasure Node applies when it runs
 * these files: no bundler, no build step. `openapi-fetch` is its own published ESM build.
 */
function files(): Record<string, { type: string; body: string }> {
  const js = 'text/javascript; charset=utf-8';
  const strip = (path: string) => stripTypeScriptTypes(readFileSync(path, 'utf8'));
  return {
    '/': {
      type: 'text/html; charset=utf-8',
      body: `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<link rel="icon" href="data:,">
<title>Offramp widget (another origin)</title>
<script type="importmap">${JSON.stringify({ imports: { 'openapi-fetch': '/vendor/openapi-fetch.mjs', '@offramp/client': '/client/index.js' } })}</script>
<script type="module" src="/widget.js"></script>
</head>
<body><h1>Offramp widget</h1><p>A page of an exchange, on an origin of its own, calling the gateway.</p></body>
</html>
`,
    },
    '/widget.js': { type: js, body: strip(new URL('./widget.ts', import.meta.url).pathname) },
    '/client/index.js': { type: js, body: strip(require.resolve('@offramp/client')) },
    '/vendor/openapi-fetch.mjs': { type: js, body: readFileSync(require.resolve('openapi-fetch/dist/index.mjs'), 'utf8') },
  };
}

/** A static server on its own port (its own origin) serving the widget page. */
export async function startWidgetServer(): Promise<{ origin: string; close: () => Promise<void> }> {
  const served = files();
  const server = createServer((req, res) => {
    const file = req.method === 'GET' ? served[new URL(req.url ?? '/', 'http://x').pathname] : undefined;
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-store' }).end(file.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
