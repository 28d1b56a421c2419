// @ts-check
/**
 * Small DOM helpers shared by the pages. Text always goes in through textContent, never
 * innerHTML, so that whatever an API answers is shown and never executed.
 */

/**
 * @param {string} id
 * @returns {HTMLElement}
 */
export function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`missing element #${id}`);
  return node;
}

/**
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, string | boolean | undefined | null>} [attrs]
 * @param {...(Node | string | number | null | undefined)} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    node.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(typeof child === 'string' || typeof child === 'number' ? String(child) : child);
  }
  return node;
}

/**
 * A page's two live regions: `status` (polite) for progress and results, `alert` for failures.
 * @param {HTMLElement} status
 * @param {HTMLElement} alert
 */
export function announcer(status, alert) {
  return {
    /** @param {string} text */
    info(text) {
      alert.textContent = '';
      status.textContent = text;
    },
    /** @param {string} text */
    error(text) {
      status.textContent = '';
      alert.textContent = text;
    },
  };
}

/**
 * A table with a caption; `rows` are arrays of cells (text or nodes).
 * @param {string} caption
 * @param {string[]} columns
 * @param {(Node | string | null | undefined)[][]} rows
 * @param {string} [empty] text of the single row when there is no row
 */
export function table(caption, columns, rows, empty = 'Nothing to show.') {
  const head = el('thead', {}, el('tr', {}, ...columns.map((c) => el('th', { scope: 'col' }, c))));
  const body = el('tbody');
  if (rows.length === 0) body.append(el('tr', {}, el('td', { colspan: String(columns.length) }, empty)));
  for (const row of rows) body.append(el('tr', {}, ...row.map((cell) => el('td', {}, cell ?? ''))));
  return el('table', {}, el('caption', {}, caption), head, body);
}

/**
 * A definition list of label/value pairs; null values show as a dash.
 * @param {[string, Node | string | null | undefined][]} pairs
 */
export function definitions(pairs) {
  const list = el('dl');
  for (const [label, value] of pairs) list.append(el('dt', {}, label), el('dd', {}, value ?? '—'));
  return list;
}

/**
 * A status as a badge whose text says it (colour is only a second cue).
 * @param {string} status
 */
export function statusBadge(status) {
  return el('span', { class: `badge badge-${status.replace(/[^a-z_]/g, '')}` }, status);
}

/**
 * A time with its timezone, always UTC (`2030-01-01 00:02:00 UTC`): operators in different zones
 * read the same text, and the audit, the reports and the API are UTC.
 * @param {string | null | undefined} iso
 */
export function formatTime(iso) {
  if (!iso) return '—';
  const at = new Date(iso);
  return Number.isNaN(at.getTime()) ? iso : `${at.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/**
 * Loads into one region: marks it busy while a load is in flight and lets only the latest load
 * render, so that answers arriving out of order never replace newer content (nor a button that
 * has the focus).
 * @param {HTMLElement} target
 */
export function latestOnly(target) {
  let asked = 0;
  /** @param {() => Promise<(() => void) | void>} load answers the function that renders its result */
  return async (load) => {
    const mine = ++asked;
    target.setAttribute('aria-busy', 'true');
    try {
      const render = await load();
      if (mine === asked && render) render();
    } finally {
      if (mine === asked) target.removeAttribute('aria-busy');
    }
  };
}

/**
 * Runs `action` with `button` disabled and marked busy, so a double click sends one request.
 * @param {HTMLButtonElement | null} button
 * @param {() => Promise<void>} action
 */
export async function busy(button, action) {
  if (button) {
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
  }
  try {
    await action();
  } finally {
    if (button) {
      button.disabled = false;
      button.removeAttribute('aria-busy');
    }
  }
}

/**
 * Reads and writes one JSON object in localStorage.
 * @template {Record<string, string>} T
 * @param {string} key
 * @param {T} defaults
 */
export function storedSettings(key, defaults) {
  return {
    /** @returns {T} */
    load() {
      try {
        const raw = localStorage.getItem(key);
        return { ...defaults, ...(raw ? JSON.parse(raw) : {}) };
      } catch {
        return { ...defaults };
      }
    },
    /** @param {T} value */
    save(value) {
      localStorage.setItem(key, JSON.stringify(value));
    },
    clear() {
      localStorage.removeItem(key);
    },
  };
}
