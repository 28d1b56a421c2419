/**
 * Subject naming. Events: `evt.<domain>.<name>.v<N>` (stream EVENTS); commands:
 * `cmd.<service>.<name>.v<N>` (stream COMMANDS, work queue); synchronous calls:
 * `rpc.<service>.<name>.v<N>` (core request/reply); dead letters: `dlq.<original subject>`.
 * A breaking change adds `.v2` beside `.v1`.
 */
const segment = /^[a-z][a-z0-9-]*$/;

function build(kind: 'evt' | 'cmd' | 'rpc', owner: string, name: string, version: number): string {
  if (!segment.test(owner) || !segment.test(name) || !Number.isInteger(version) || version < 1) {
    throw new Error(`invalid subject parts: ${kind}.${owner}.${name}.v${version}`);
  }
  return `${kind}.${owner}.${name}.v${version}`;
}

export const eventSubject = (domain: string, name: string, version = 1) => build('evt', domain, name, version);
export const commandSubject = (service: string, name: string, version = 1) => build('cmd', service, name, version);
export const rpcSubject = (service: string, name: string, version = 1) => build('rpc', service, name, version);
export const deadLetterSubject = (subject: string) => `dlq.${subject}`;

export const streams = {
  events: { name: 'EVENTS', subjects: ['evt.>'] },
  commands: { name: 'COMMANDS', subjects: ['cmd.>'] },
  deadLetters: { name: 'DEADLETTER', subjects: ['dlq.>'] },
  /** The trader's in-app notifications (`notify.v1.user.<trader>`), kept a day so a dropped SSE stream can resume. */
  notifications: { name: 'NOTIFICATIONS', subjects: ['notify.v1.user.>'] },
} as const;

/**
 * JetStream key-value buckets (each is a stream `KV_<name>`). `streamTickets`: the gateway's
 * single-use SSE stream tickets, stored hashed, every entry gone after `maxAgeSeconds`.
 * `rateLimits`: the gateway replicas' shared request counts, one key per caller's bucket (its
 * window's start and count), dropped an hour after its last write (a window is at most an hour);
 * kept in memory (`memory`): every counted request writes it, and a NATS restart only restarts the
 * windows, where file storage would cost a disk write per request.
 */
export const buckets = {
  streamTickets: { name: 'STREAM_TICKETS', maxAgeSeconds: 300, memory: false },
  rateLimits: { name: 'RATE_LIMITS', maxAgeSeconds: 3600, memory: true },
} as const;

/** Parses a versioned subject into its parts; null when it does not follow the naming. */
export function parseSubject(subject: string): { kind: string; owner: string; name: string; version: number } | null {
  const m = /^(evt|cmd|rpc)\.([a-z][a-z0-9-]*)\.([a-z][a-z0-9-]*)\.v([1-9][0-9]*)$/.exec(subject);
  if (!m) return null;
  return { kind: m[1]!, owner: m[2]!, name: m[3]!, version: Number(m[4]) };
}
