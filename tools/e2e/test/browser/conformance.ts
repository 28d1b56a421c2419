import type { Page } from 'playwright-core';
import type { OpenAPIV3_1 } from 'openapi-types';
import { openApiChecker, type OpenApiCheck } from '@offramp/kit/testing-openapi';
import { assertConforms, documentedPrefixes } from '../conformance.ts';

/** One checker per gateway origin, from the document that gateway serves (`/docs/json`, fetched once). */
const checkers = new Map<string, Promise<OpenApiCheck>>();
function checkerOf(origin: string): Promise<OpenApiCheck> {
  let checker = checkers.get(origin);
  if (!checker) {
    checker = (async () => {
      const res = await fetch(`${origin}/docs/json`);
      if (!res.ok) throw new Error(`${origin}/docs/json answered ${res.status}: the page's exchanges with it cannot be checked`);
      return openApiChecker((await res.json()) as OpenAPIV3_1.Document);
    })();
    checkers.set(origin, checker);
  }
  return checker;
}

/**
 * Checks every exchange a page has with a gateway (`/psp/alfred/…`, `/api/admin/…`, on whatever
 * origin) against the OpenAPI document that gateway serves, as `startSystem`'s `http()` does for
 * the tests' own requests. The check runs beside the page; `settled()` waits for the checks of
 * every answer seen so far and gives the mismatches. An event stream's status is checked, not its
 * body; a CORS preflight (`OPTIONS`) is the browser's, not an operation of the API.
 */
export function watchConformance(page: Page): { settled(): Promise<string[]> } {
  const pending = new Set<Promise<void>>();
  const mismatches: string[] = [];
  page.on('response', (response) => {
    const url = new URL(response.url());
    const request = response.request();
    if (!documentedPrefixes.test(url.pathname) || request.method() === 'OPTIONS') return;
    const checked = (async () => {
      try {
        const check = await checkerOf(url.origin);
        const headers = await response.allHeaders();
        const stream = String(headers['content-type'] ?? '').startsWith('text/event-stream');
        // A body the browser has already discarded (the page moved on before it was read) cannot
        // be checked; that is no disagreement with the document, so it is skipped, not reported.
        const read = stream
          ? ''
          : await response.body().then(
              (b) => b.toString('utf8'),
              () => null,
            );
        if (read === null) return;
        const body = read;
        const sent = request.postData();
        assertConforms(
          check,
          request.method(),
          `${url.pathname}${url.search}`,
          { statusCode: response.status(), headers, body },
          sent === null ? {} : { body: sent },
        );
      } catch (err) {
        mismatches.push((err as Error).message);
      }
    })();
    pending.add(checked);
    void checked.finally(() => pending.delete(checked));
  });
  return {
    async settled() {
      while (pending.size > 0) await Promise.all([...pending]);
      return mismatches;
    },
  };
}
