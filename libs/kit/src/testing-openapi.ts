import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import type { OpenAPIV3_1 } from 'openapi-types';

type Operation = OpenAPIV3_1.OperationObject;
type Parameter = OpenAPIV3_1.ParameterObject;

/** An answer as the test got it (light-my-request's and Node's responses fit). */
export interface OpenApiAnswer {
  statusCode: number;
  headers: Record<string, unknown>;
  body: string;
}

/** What the test sent besides the method and URL: the body (a JSON value, or the raw text). */
export interface OpenApiRequest {
  body?: unknown;
}

/**
 * Answers after which the request itself is not checked: the gateway refused it before (or
 * instead of) taking its input in. 400 is the answer to input the document does not allow, which
 * is what a test of a 400 sends on purpose; 401/403 are decided before the input is read; 413,
 * 415 and 431 while reading it; 429 before anything. The answer is checked all the same.
 */
export const requestNotCheckedAfter: ReadonlySet<number> = new Set([400, 401, 403, 413, 415, 429, 431]);

export interface OpenApiCheck {
  /**
   * The mismatch between one exchange and the document, or null when both sides are what the
   * document says. The answer is always checked: its status must be one the operation documents,
   * a JSON body must match its schema (so an error's code must be one listed for that status),
   * with a JSON content type. The request (path and query parameters, body) is checked when
   * `request` is given and the status is not in `requestNotCheckedAfter`. Routes the document
   * does not list are not checked (see `operation`).
   */
  (method: string, url: string, answer: OpenApiAnswer, request?: OpenApiRequest): string | null;
  /** The documented path template of `method url`, or undefined when the document has no such operation. */
  operation(method: string, url: string): string | undefined;
}

/** Checks exchanges with a service against the OpenAPI 3.1 document it serves (`/docs/json`). */
export function openApiChecker(document: OpenAPIV3_1.Document): OpenApiCheck {
  const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
  const routes = Object.entries(document.paths ?? {})
    .map(([path, item]) => ({
      pattern: new RegExp(`^${path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{([^}]+)\}/g, '(?<$1>[^/]+)')}$`),
      path,
      item: item as Record<string, Operation>,
    }))
    // A static path (`/withdrawals/freeze`) wins over a template (`/withdrawals/{id}`), as in Fastify's router.
    .sort((a, b) => (a.path.match(/\{/g)?.length ?? 0) - (b.path.match(/\{/g)?.length ?? 0));
  const validators = new Map<object, ValidateFunction>();
  const validatorOf = (schema: object) => {
    let v = validators.get(schema);
    if (!v) validators.set(schema, (v = ajv.compile(schema)));
    return v;
  };
  const errorsOf = (validate: ValidateFunction, dataVar: string) => ajv.errorsText(validate.errors, { separator: '; ', dataVar });
  const find = (method: string, url: string) => {
    const path = url.split('?')[0]!;
    for (const route of routes) {
      const match = route.pattern.exec(path);
      const op = match && route.item[method.toLowerCase()];
      if (match && op) return { route, op, params: match.groups ?? {} };
    }
    return undefined;
  };

  /** The value a URL's text stands for under `schema` (a query or path parameter arrives as text). */
  const fromText = (text: string, schema: OpenAPIV3_1.SchemaObject | undefined): unknown => {
    const type = schema?.type;
    if ((type === 'integer' || type === 'number') && /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(text)) return Number(text);
    if (type === 'boolean' && (text === 'true' || text === 'false')) return text === 'true';
    return text;
  };

  function checkRequest(op: Operation, pathParams: Record<string, string>, url: string, request: OpenApiRequest): string[] {
    const problems: string[] = [];
    const parameters = (op.parameters ?? []) as Parameter[];
    const query = new URLSearchParams(url.includes('?') ? url.slice(url.indexOf('?') + 1) : '');
    for (const p of parameters) {
      if (p.in !== 'path' && p.in !== 'query') continue;
      const raw = p.in === 'path' ? pathParams[p.name] : query.get(p.name);
      if (raw === undefined || raw === null) {
        if (p.required) problems.push(`${p.in} parameter ${p.name} is required`);
        continue;
      }
      const text = p.in === 'path' ? decodeURIComponent(raw) : raw;
      if (p.in === 'query' && query.getAll(p.name).length > 1)
        problems.push(`query parameter ${p.name} is given ${query.getAll(p.name).length} times`);
      const schema = p.schema as OpenAPIV3_1.SchemaObject | undefined;
      if (!schema) continue;
      const validate = validatorOf(schema);
      if (!validate(fromText(text, schema)))
        problems.push(`${p.in} parameter ${p.name}=${JSON.stringify(text)}: ${errorsOf(validate, p.name)}`);
    }
    const documentedQuery = new Set(parameters.filter((p) => p.in === 'query').map((p) => p.name));
    for (const name of new Set(query.keys()))
      if (!documentedQuery.has(name)) problems.push(`query parameter ${name} is not in the document`);

    const requestBody = op.requestBody as OpenAPIV3_1.RequestBodyObject | undefined;
    if (request.body === undefined) {
      if (requestBody?.required) problems.push('the body is required');
    } else if (!requestBody) {
      problems.push('a body where the document takes none');
    } else {
      const schema = requestBody.content?.['application/json']?.schema;
      let body: unknown = request.body;
      if (typeof request.body === 'string') {
        try {
          body = JSON.parse(request.body);
        } catch {
          problems.push(`the body is not JSON: ${request.body.slice(0, 100)}`);
          return problems;
        }
      }
      if (schema) {
        const validate = validatorOf(schema);
        if (!validate(body)) problems.push(errorsOf(validate, 'body'));
      }
    }
    return problems;
  }

  function checkAnswer(op: Operation, where: string, answer: OpenApiAnswer): string | null {
    const response = op.responses?.[String(answer.statusCode)] as OpenAPIV3_1.ResponseObject | undefined;
    if (!response)
      return `${where}: status ${answer.statusCode} is not documented (documented: ${Object.keys(op.responses ?? {}).join(', ')}); body ${answer.body.slice(0, 300)}`;
    const contentType = String(answer.headers['content-type'] ?? '');
    const documented = Object.keys(response.content ?? {});
    if (documented.length === 0) return answer.body === '' ? null : `${where}: a body where the document says none`;
    const schema = response.content?.['application/json']?.schema;
    // Another documented media type (the event stream, a CSV download) is not checked here.
    if (!schema) return null;
    const mediaType = contentType.split(';')[0]!.trim();
    if (mediaType !== 'application/json' && documented.includes(mediaType)) return null;
    if (!contentType.startsWith('application/json'))
      return `${where}: content-type ${contentType || '(none)'} where the document says application/json`;
    let body: unknown;
    try {
      body = JSON.parse(answer.body);
    } catch {
      return `${where}: the body is not JSON: ${answer.body.slice(0, 300)}`;
    }
    const validate = validatorOf(schema);
    if (validate(body)) return null;
    return `${where}: the answer does not match the document: ${errorsOf(validate, 'body')}; body ${answer.body.slice(0, 300)}`;
  }

  const check = ((method: string, url: string, answer: OpenApiAnswer, request?: OpenApiRequest): string | null => {
    const found = find(method, url);
    if (!found) return null;
    const where = `${method.toUpperCase()} ${found.route.path} answered ${answer.statusCode}`;
    const problems: string[] = [];
    const answered = checkAnswer(found.op, where, answer);
    if (answered) problems.push(answered);
    if (request && !requestNotCheckedAfter.has(answer.statusCode)) {
      const asked = checkRequest(found.op, found.params, url, request);
      if (asked.length > 0) problems.push(`${where}, but the request does not match the document: ${asked.join('; ')}`);
    }
    return problems.length === 0 ? null : problems.join('\n');
  }) as OpenApiCheck;
  check.operation = (method, url) => find(method, url)?.route.path;
  return check;
}
