import { Ajv2020 } from 'ajv/dist/2020.js';
import type { OpenAPIV3_1 } from 'openapi-types';

type Operation = OpenAPIV3_1.OperationObject;
interface Answer {
  statusCode: number;
  headers: Record<string, unknown>;
  body: string;
}

/**
 * Checks real answers against the OpenAPI document the gateway serves: the status must be one the
 * operation documents and a JSON body must match its schema (so an error's code must be one listed
 * for that status). Used by the test harness on every request the gateway tests make.
 */
export function openApiChecker(document: OpenAPIV3_1.Document) {
  const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
  const routes = Object.entries(document.paths ?? {}).map(([path, item]) => ({
    pattern: new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/]+')}$`),
    path,
    item: item as Record<string, Operation>,
  }))
    // A static path (`/withdrawals/freeze`) wins over a template (`/withdrawals/{id}`), as in Fastify's router.
    .sort((a, b) => (a.path.match(/\{/g)?.length ?? 0) - (b.path.match(/\{/g)?.length ?? 0));
  const validators = new Map<object, ReturnType<typeof ajv.compile>>();
  const validatorOf = (schema: object) => {
    let v = validators.get(schema);
    if (!v) validators.set(schema, (v = ajv.compile(schema)));
    return v;
  };
  /** The mismatch, or null when the answer is what the document says. Routes it does not list are not checked. */
  return function check(method: string, url: string, answer: Answer): string | null {
    const path = url.split('?')[0]!;
    const route = routes.find((r) => r.pattern.test(path));
    const op = route?.item[method.toLowerCase()];
    if (!route || !op) return null;
    const where = `${method} ${route.path} answered ${answer.statusCode}`;
    const response = op.responses?.[String(answer.statusCode)] as OpenAPIV3_1.ResponseObject | undefined;
    if (!response) return `${where}: status not documented (documented: ${Object.keys(op.responses ?? {}).join(', ')}); body ${answer.body.slice(0, 300)}`;
    const contentType = String(answer.headers['content-type'] ?? '');
    const documented = Object.keys(response.content ?? {});
    if (documented.length === 0) return answer.body === '' ? null : `${where}: a body where the document says none`;
    const schema = response.content?.['application/json']?.schema;
    // Another documented media type (the event stream) is not checked here.
    if (!schema) return null;
    if (!contentType.startsWith('application/json')) return `${where}: content-type ${contentType || '(none)'} where the document says application/json`;
    const validate = validatorOf(schema);
    if (validate(JSON.parse(answer.body))) return null;
    return `${where}: body does not match the document: ${ajv.errorsText(validate.errors)}; body ${answer.body.slice(0, 300)}`;
  };
}
