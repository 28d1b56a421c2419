import type { OpenApiAnswer, OpenApiCheck, OpenApiRequest } from '@offramp/kit/testing-openapi';

/** The gateway's own prefixes: a request under them must be an operation of its OpenAPI document. */
export const documentedPrefixes = /^\/(psp\/alfred|api\/admin|partner\/v1)\//;

/**
 * Conformance of one exchange with the gateway's served OpenAPI document: throws, naming the
 * method, path, status and what disagrees, when the answer is not what the document says for that
 * operation and status, or when the request is not one the document allows and the gateway took
 * it in anyway (any answer but a refusal of the input: see `requestNotCheckedAfter`; a test of a
 * 400 sends bad input on purpose, and its 400 answer is still checked). A request under
 * `/psp/alfred/` or `/api/admin/` that is no documented operation fails too, unless answered 404.
 */
export function assertConforms(check: OpenApiCheck, method: string, url: string, answer: OpenApiAnswer, request: OpenApiRequest): void {
  const path = url.split('?')[0]!;
  let mismatch = check(method, url, answer, request);
  if (!mismatch && documentedPrefixes.test(path) && !check.operation(method, url) && answer.statusCode !== 404) {
    mismatch = `${method} ${path} answered ${answer.statusCode}, but the document has no such operation`;
  }
  if (mismatch)
    throw new Error(`${method} ${url} -> ${answer.statusCode} disagrees with the gateway's OpenAPI document (/docs/json):\n${mismatch}`);
}
