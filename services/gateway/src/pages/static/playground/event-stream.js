// @ts-check

/**
 * Server-Sent Events over fetch. `EventSource` cannot send an Authorization header, and the
 * stream is the trader's own, so the page reads it with fetch and parses the event-stream format
 * itself; the token never goes into a URL (where logs and proxies would keep it). It reconnects
 * with a growing delay and sends Last-Event-ID so that the server can replay what was missed.
 */

/**
 * @typedef {{ event: string, data: string, id: string | null }} StreamMessage
 * @typedef {{ onMessage(message: StreamMessage): void, onState(text: string): void }} StreamHandlers
 */

/**
 * Parses complete events out of `buffer`; answers the events and the unparsed rest.
 * @param {string} buffer
 * @returns {{ events: { event: string, data: string, id: string | null, retry: number | null }[], rest: string }}
 */
export function parseEvents(buffer) {
  const events = [];
  const blocks = buffer.replaceAll('\r\n', '\n').replaceAll('\r', '\n').split('\n\n');
  const rest = blocks.pop() ?? '';
  for (const block of blocks) {
    let event = 'message';
    /** @type {string[]} */
    const data = [];
    /** @type {string | null} */
    let id = null;
    /** @type {number | null} */
    let retry = null;
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const name = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (name === 'event') event = value;
      else if (name === 'data') data.push(value);
      else if (name === 'id') id = value;
      else if (name === 'retry' && /^\d+$/.test(value)) retry = Number(value);
    }
    if (data.length > 0 || id !== null || retry !== null) events.push({ event, data: data.join('\n'), id, retry });
  }
  return { events, rest };
}

/**
 * Opens the stream at `path` and keeps it open until the returned function is called.
 * @param {import('../common/api.js').Connection} conn
 * @param {string} path
 * @param {StreamHandlers} handlers
 * @returns {() => void} stops the stream
 */
export function openEventStream(conn, path, handlers) {
  const controller = new AbortController();
  /** @type {string | null} */
  let lastId = null;
  let delayMs = 1000;

  async function readOnce() {
    /** @type {Record<string, string>} */
    const headers = { accept: 'text/event-stream', authorization: `Bearer ${conn.token}` };
    if (lastId) headers['last-event-id'] = lastId;
    const res = await fetch(`${conn.baseUrl.replace(/\/+$/, '')}${path}`, { headers, signal: controller.signal, cache: 'no-store' });
    if (!res.ok || !res.body) {
      handlers.onState(`Event stream unavailable (HTTP ${res.status}); the withdrawal is polled instead.`);
      return res.status === 401 || res.status === 403 || res.status === 404 ? 'stop' : 'retry';
    }
    handlers.onState('Connected to the event stream.');
    delayMs = 1000;
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return 'retry';
      const parsed = parseEvents(buffer + value);
      buffer = parsed.rest;
      for (const message of parsed.events) {
        if (message.id !== null) lastId = message.id;
        if (message.retry !== null) delayMs = message.retry;
        if (message.data !== '') handlers.onMessage(message);
      }
    }
  }

  async function loop() {
    while (!controller.signal.aborted) {
      let outcome = 'retry';
      try {
        outcome = await readOnce();
      } catch (err) {
        if (controller.signal.aborted) return;
        handlers.onState(`Event stream interrupted (${String(err)}); reconnecting.`);
      }
      if (outcome === 'stop') return;
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      delayMs = Math.min(delayMs * 2, 15_000);
    }
  }

  loop();
  return () => controller.abort();
}
