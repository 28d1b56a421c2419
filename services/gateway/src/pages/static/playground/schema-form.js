// @ts-check
import { el } from '../common/dom.js';

/**
 * Form controls generated from a rail's requirements (the JSON Schema of `fiatAccountFields`
 * that `GET /psp/alfred/fiat-accounts/requirements?type=` answers), and the values read back.
 * Each control's label is exactly the field name, its hint says whether it is required and
 * what the schema describes; the server stays the judge of validity.
 */

/**
 * @typedef {{ type?: string | string[], enum?: unknown[], description?: string, minLength?: number, maxLength?: number,
 *   pattern?: string, format?: string, properties?: Record<string, JsonSchema>, required?: string[], default?: unknown,
 *   anyOf?: JsonSchema[], oneOf?: JsonSchema[] }} JsonSchema
 */

/** @param {JsonSchema} schema */
function typeOf(schema) {
  if (Array.isArray(schema.enum)) return 'enum';
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  if (type === 'object' && schema.properties) return 'object';
  return type ?? 'string';
}

/** @param {string} prefix @param {string} name */
const idFor = (prefix, name) => `${prefix}-${name}`.replace(/[^A-Za-z0-9_-]/g, '_');

/**
 * One control for one property, holding `value` when given.
 * @param {string} prefix @param {string} name @param {JsonSchema} schema @param {boolean} required @param {string | undefined} value
 */
function control(prefix, name, schema, required, value) {
  const id = idFor(prefix, name);
  const hintId = `${id}-hint`;
  const hint = el(
    'span',
    { class: 'hint', id: hintId },
    `${required ? 'Required' : 'Optional'}${schema.description ? `. ${schema.description}` : ''}`,
  );
  const common = { id, name, 'data-field': name, 'aria-describedby': hintId, required: required || undefined };
  const type = typeOf(schema);
  if (type === 'enum') {
    const options = (schema.enum ?? []).map((v) => el('option', { value: String(v) }, String(v)));
    const blank = required
      ? el('option', { value: '', disabled: true, selected: true }, 'Choose…')
      : el('option', { value: '' }, '(not set)');
    return el('div', {}, el('label', { for: id }, name), hint, el('select', { ...common, 'data-kind': 'string' }, blank, ...options));
  }
  if (type === 'boolean') {
    return el(
      'div',
      {},
      el(
        'label',
        { class: 'inline', for: id },
        el('input', { ...common, type: 'checkbox', 'data-kind': 'boolean', required: undefined }),
        name,
      ),
      hint,
    );
  }
  if (type === 'object') {
    return el('fieldset', { 'data-object': name }, el('legend', {}, name), hint, ...fieldsOf(`${id}`, schema, {}));
  }
  const numeric = type === 'number' || type === 'integer';
  const attrs = {
    ...common,
    type: numeric ? 'number' : schema.format === 'email' ? 'email' : 'text',
    'data-kind': numeric ? 'number' : 'string',
    minlength: schema.minLength !== undefined ? String(schema.minLength) : undefined,
    maxlength: schema.maxLength !== undefined ? String(schema.maxLength) : undefined,
    pattern: schema.pattern,
    autocomplete: 'off',
    spellcheck: 'false',
    value,
  };
  return el('div', {}, el('label', { for: id }, name), hint, el('input', attrs));
}

/** @param {string} prefix @param {JsonSchema} schema @param {Record<string, string>} values */
function fieldsOf(prefix, schema, values) {
  const required = new Set(schema.required ?? []);
  // Required fields first: they are what a tester has to fill.
  const entries = Object.entries(schema.properties ?? {}).sort(([a], [b]) => Number(required.has(b)) - Number(required.has(a)));
  return entries.map(([name, property]) => control(prefix, name, property, required.has(name), values[name]));
}

/**
 * Replaces the children of `container` with controls for `schema`, text fields prefilled from `values`.
 * @param {HTMLElement} container @param {JsonSchema} schema @param {string} prefix @param {Record<string, string>} [values]
 */
export function renderSchemaForm(container, schema, prefix, values = {}) {
  const fields = fieldsOf(prefix, schema, values);
  container.replaceChildren(...(fields.length > 0 ? fields : [el('p', { class: 'muted' }, 'This rail asks for no field.')]));
}

/**
 * The values of the controls inside `container`: empty optional fields are left out, numbers are
 * sent as numbers, nested objects as objects.
 * @param {HTMLElement} container
 * @returns {Record<string, unknown>}
 */
export function readSchemaForm(container) {
  /** @type {Record<string, unknown>} */
  const values = {};
  for (const node of container.children) {
    const group = /** @type {HTMLElement} */ (node);
    if (group.matches('fieldset[data-object]')) {
      const nested = readSchemaForm(group);
      if (Object.keys(nested).length > 0) values[group.getAttribute('data-object') ?? ''] = nested;
      continue;
    }
    const input = /** @type {HTMLInputElement | null} */ (group.querySelector('[data-field]'));
    if (!input) continue;
    const kind = input.getAttribute('data-kind');
    const name = input.getAttribute('data-field') ?? '';
    if (kind === 'boolean') values[name] = input.checked;
    else if (input.value.trim() !== '') values[name] = kind === 'number' ? Number(input.value) : input.value.trim();
  }
  return values;
}

/**
 * Marks the controls named in a VALIDATION_ERROR / FIAT_ACCOUNT_INVALID answer as invalid and
 * says why in their hint; clears the marks of the others.
 * @param {HTMLElement} container @param {unknown} fields `details.fields`: `{field, message}` or names
 */
export function markInvalid(container, fields) {
  /** @type {Map<string, string>} */
  const problems = new Map();
  for (const f of Array.isArray(fields) ? fields : []) {
    const path = typeof f === 'string' ? f : String(f?.field ?? '');
    const message = typeof f === 'string' ? 'refused by the server' : String(f?.message ?? 'invalid');
    problems.set(path.split('.').at(-1) ?? path, message);
  }
  for (const input of container.querySelectorAll('[data-field]')) {
    const name = input.getAttribute('data-field') ?? '';
    const hint = container.querySelector(`#${CSS.escape(input.getAttribute('aria-describedby') ?? '')}`);
    const base = hint?.getAttribute('data-base') ?? hint?.textContent ?? '';
    if (hint && !hint.hasAttribute('data-base')) hint.setAttribute('data-base', base);
    if (problems.has(name)) {
      input.setAttribute('aria-invalid', 'true');
      if (hint) hint.textContent = `${base} Error: ${problems.get(name)}.`;
    } else {
      input.removeAttribute('aria-invalid');
      if (hint) hint.textContent = base;
    }
  }
}
