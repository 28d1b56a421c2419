import { build as prettyStream, prettyFactory } from 'pino-pretty';
import { createLogger, type Logger } from '@offramp/kit';

/** How the stack prints logs: `pretty` (human-readable, for a terminal) or `json` (one JSON object a line). */
export type LogFormat = 'pretty' | 'json';

/**
 * `LOG_FORMAT=json|pretty` when set; otherwise pretty only on a terminal (stdout a TTY) outside CI.
 * JSON stays the default everywhere else: piped, redirected, in CI, in containers (no TTY).
 */
export function logFormatOf(env: Record<string, string | undefined>, stdoutIsTTY: boolean): LogFormat {
  if (env.LOG_FORMAT === 'json' || env.LOG_FORMAT === 'pretty') return env.LOG_FORMAT;
  return stdoutIsTTY && !env.CI ? 'pretty' : 'json';
}

const prettyOptions = {
  // Colours where the terminal supports them (pino-pretty's check: a TTY, NO_COLOR unset).
  translateTime: 'SYS:HH:MM:ss.l',
  // `service` and `name` are the line's prefix already (the child's name); pid and host say nothing locally.
  ignore: 'pid,hostname,service,name',
  singleLine: true,
};

/** The stack's own logger: the kit's logger, written through pino-pretty when the format is pretty. */
export function createStackLogger(opts: { name: string; level?: string; format: LogFormat }): Logger {
  if (opts.format === 'json') return createLogger({ name: opts.name, level: opts.level });
  return createLogger({ name: opts.name, level: opts.level, destination: prettyStream({ ...prettyOptions, sync: true }) });
}

/**
 * What a service's output line becomes on the stack's output: as it is for JSON, and for pretty a
 * JSON log line turned human-readable (time, level, message, the other fields on the same line);
 * anything that is not a JSON object (a stack trace, a library's print) passes unchanged.
 */
export function lineFormatter(format: LogFormat): (line: string) => string {
  if (format === 'json') return (line) => line;
  const pretty = prettyFactory(prettyOptions);
  return (line) => {
    if (!line.startsWith('{')) return line;
    try {
      const parsed: unknown = JSON.parse(line);
      if (typeof parsed !== 'object' || parsed === null) return line;
      return pretty(parsed as Record<string, unknown>).trimEnd();
    } catch {
      return line;
    }
  };
}

export interface BannerFacts {
  gatewayUrl: string;
  pspAlfredUrl: string;
  /** The sandbox's URL when the stack points psp-alfred at it (no ALFRED_BASE_URL of a real Alfred). */
  sandboxUrl?: string;
  /** The gateway serves /playground and the QA routes (DEV_ENDPOINTS with a DEV_SECRET). */
  playground: boolean;
  /** The notifier's SMTP_URL, if any: `npm start` runs no mail catcher of its own. */
  smtpUrl?: string;
  postgres: string;
  nats: string;
  logFormat: LogFormat;
}

/** Host and port of an SMTP URL, never its credentials. */
function smtpServer(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}`;
  } catch {
    return 'SMTP_URL (unparsable)';
  }
}

/** What the ready banner lists, label and value. */
export function bannerRows(facts: BannerFacts): [string, string][] {
  const rows: [string, string][] = [
    ['Gateway', facts.gatewayUrl],
    ['API docs', `${facts.gatewayUrl}/docs`],
    ['Console', `${facts.gatewayUrl}/console (operators: a JWT with role "admin")`],
    [
      'Playground',
      facts.playground
        ? `${facts.gatewayUrl}/playground`
        : 'off (start with DEV_ENDPOINTS=true DEV_SECRET=<16+ characters> for it and the QA routes)',
    ],
    ['Webhooks', `${facts.pspAlfredUrl}/psp/alfred/webhook (psp-alfred)`],
  ];
  if (facts.sandboxUrl) rows.push(['Alfred', `${facts.sandboxUrl} (the sandbox emulator)`]);
  rows.push([
    'E-mail',
    facts.smtpUrl
      ? `${smtpServer(facts.smtpUrl)} (SMTP_URL; no mail catcher of its own)`
      : 'off: no SMTP_URL, no mail catcher (notifications are in-app only; set SMTP_URL to send)',
  ]);
  rows.push(['Postgres', facts.postgres], ['NATS', facts.nats]);
  rows.push([
    'Logs',
    facts.logFormat === 'pretty' ? 'human-readable (LOG_FORMAT=json for JSON lines)' : 'JSON lines (LOG_FORMAT=pretty for human-readable)',
  ]);
  return rows;
}

const stopHint = 'A service that dies is restarted. Press Ctrl-C to stop everything.';

/** The lines `npm start` prints on a terminal once every service is ready: where everything is, and how to stop. */
export function readyBanner(facts: BannerFacts): string {
  const rows = bannerRows(facts);
  const width = Math.max(...rows.map(([label]) => label.length));
  return ['', 'Offramp is ready.', '', ...rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`), '', stopHint, ''].join('\n');
}

/** The same facts as the message of one JSON log line (`stack ready; Gateway …; API docs …; …`). */
export function readySummary(facts: BannerFacts): string {
  return ['stack ready', ...bannerRows(facts).map(([label, value]) => `${label} ${value}`), stopHint].join('; ');
}
