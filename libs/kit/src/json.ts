import secureJson from 'secure-json-parse';
import { AppError } from './errors.ts';

/**
 * JSON bodies parsed without ever rounding a number. `JSON.parse` turns `9007199254740993` into
 * `9007199254740992` and `0.1000000000000000000001` into `0.1` without a word; here the reviver
 * reads each number's source text (Node 24: `context.source`) and refuses the body when the double
 * does not read back as the number that was written. Prototype poisoning is refused exactly as
 * Fastify's default parser does (secure-json-parse, `__proto__` and `constructor.prototype`: error).
 */

/** What the refusal says about each inexact number, next to the field's path. */
export const inexactNumberMessage =
  "This number cannot be represented exactly (integers must be within ±(2^53 - 1), decimals within a double's precision); send it as a decimal string";

/** A reviver's stand-in for a number that would have been rounded; the body is refused once all are found. */
class Inexact {
  readonly source: string;
  constructor(source: string) {
    this.source = source;
  }
}

const numberText = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/** The decimal value of a JSON number's text as sign, significant digits and power of ten (`0` for zero). */
function decimalOf(text: string): string | null {
  const m = numberText.exec(text);
  if (!m) return null;
  const [, sign, whole, fraction = '', exponent = '0'] = m;
  let digits = `${whole}${fraction}`.replace(/^0+/, '');
  if (digits === '') return '0';
  let power = Number(exponent) - fraction.length;
  const trimmed = digits.replace(/0+$/, '');
  power += digits.length - trimmed.length;
  digits = trimmed;
  return `${sign}${digits}e${power}`;
}

/**
 * True when the number written as `source` is the one `value` holds: finite, an integer within
 * ±(2^53 - 1) when integral (I-JSON, RFC 7493: beyond that not every integer exists as a double),
 * and the same decimal as the double's shortest form (so `0.1` passes, `0.1000000000000000000001`
 * does not).
 */
export function isExactNumber(source: string, value: number): boolean {
  if (!Number.isFinite(value)) return false;
  if (Number.isInteger(value) && !Number.isSafeInteger(value)) return false;
  const shortest = String(value);
  if (source === shortest) return true;
  const written = decimalOf(source);
  return written !== null && written === decimalOf(shortest);
}

/** Paths (zod style, `a.b.0.c`; `(body)` for the root) of every number the reviver marked. */
function inexactPaths(value: unknown, path: string[], out: string[]): string[] {
  if (value instanceof Inexact) out.push(path.length ? path.join('.') : '(body)');
  else if (Array.isArray(value)) value.forEach((v, i) => inexactPaths(v, [...path, String(i)], out));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) inexactPaths(v, [...path, k], out);
  return out;
}

/**
 * Parses JSON text. Throws `AppError` VALIDATION_ERROR (400) when it is not JSON, carries a
 * `__proto__` or `constructor.prototype` key, or holds a number that cannot be represented exactly;
 * `details.fields` names each such number's field.
 */
export function parseExactJson(text: string): unknown {
  let marked = false;
  let parsed: unknown;
  try {
    parsed = secureJson.parse(
      text,
      (_key: string, value: unknown, context?: { source?: string }) => {
        if (typeof value !== 'number' || context?.source === undefined || isExactNumber(context.source, value)) return value;
        marked = true;
        return new Inexact(context.source);
      },
      { protoAction: 'error', constructorAction: 'error' },
    );
  } catch (err) {
    const poisoned = err instanceof SyntaxError && /forbidden prototype property/.test(err.message);
    throw new AppError('VALIDATION_ERROR', poisoned ? 'The body contains a forbidden prototype property' : 'The body is not valid JSON', {
      details: { fields: [{ field: '(body)', message: poisoned ? 'forbidden key __proto__ or constructor.prototype' : 'not valid JSON' }] },
    });
  }
  if (!marked) return parsed;
  const fields = inexactPaths(parsed, [], []).map((field) => ({ field, message: inexactNumberMessage }));
  throw new AppError('VALIDATION_ERROR', 'A number in the request cannot be represented exactly', { details: { fields } });
}

/**
 * A Fastify content-type parser (`{ parseAs: 'string' }`) for `application/json` built on
 * `parseExactJson`. An empty body is refused like Fastify does, unless `allowEmpty` (then the body
 * is `undefined`, for routes whose clients send the header on body-less POSTs).
 */
export function exactJsonParser(opts: { allowEmpty?: boolean } = {}) {
  return (_request: unknown, body: string | Buffer, done: (err: Error | null, body?: unknown) => void): void => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') {
      if (opts.allowEmpty) return done(null, undefined);
      return done(
        new AppError('VALIDATION_ERROR', 'The body is empty but the content-type is application/json', {
          details: { fields: [{ field: '(body)', message: 'empty' }] },
        }),
      );
    }
    try {
      done(null, parseExactJson(text));
    } catch (err) {
      done(err as Error);
    }
  };
}
