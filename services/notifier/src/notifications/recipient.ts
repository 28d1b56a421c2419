/**
 * The e-mail address of a trader, made from `MAIL_TO_TEMPLATE` until there is a user directory.
 * The trader id goes into the local part: characters that are not safe there unquoted (`@`, `:`,
 * `.` which may not repeat or end a local part, and anything else) become `=XX`, so every id
 * gives a valid address and two ids never give the same one.
 */
export function recipientOf(template: string, traderId: string): string {
  const hex = (b: number) => `=${b.toString(16).toUpperCase().padStart(2, '0')}`;
  const local = traderId.replace(/[^A-Za-z0-9_-]/gu, (c) => [...new TextEncoder().encode(c)].map(hex).join(''));
  return template.replace('{traderId}', local);
}

/** A Message-ID that is the same for every attempt at one e-mail: the receiving side can recognise a repeat. */
export function messageIdOf(notificationId: string, from: string): string {
  const domain = /@([A-Za-z0-9.-]+)>?\s*$/.exec(from)?.[1] ?? 'offramp.invalid';
  return `<${notificationId}.email@${domain}>`;
}
