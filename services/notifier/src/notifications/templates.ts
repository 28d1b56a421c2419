import type { InAppNotification } from '@offramp/contracts';
import { usdt } from './compose.ts';

export interface EmailContent {
  subject: string;
  text: string;
  html: string;
}

interface Row {
  label: string;
  value: string;
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const headline: Record<InAppNotification['status'], string> = {
  processing: 'Your withdrawal is on its way to your bank',
  completed: 'Your withdrawal is complete',
  rejected: 'Your withdrawal could not be completed',
};

const statusLabel: Record<InAppNotification['status'], string> = {
  processing: 'Sending to bank',
  completed: 'Completed',
  rejected: 'Failed, funds returned',
};

const delayedHeadline = 'Your withdrawal is taking longer than usual';
const headlineOf = (n: InAppNotification) => (n.kind === 'withdrawal.delayed' ? delayedHeadline : headline[n.status]);

function subjectOf(n: InAppNotification): string {
  const fiat = `${n.fiatAmount} ${n.fiatCurrency}`;
  if (n.kind === 'withdrawal.delayed') return `Your withdrawal of ${fiat} is taking longer than usual`;
  if (n.status === 'processing') return `Your withdrawal of ${fiat} is on its way to your bank`;
  if (n.status === 'completed') return `Your withdrawal of ${fiat} is complete`;
  return `Your withdrawal of ${fiat} could not be completed: ${usdt(n.restoredMinor ?? n.debitedMinor)} USDT returned`;
}

function rowsOf(n: InAppNotification): Row[] {
  const rows: Row[] = [
    { label: 'Status', value: n.kind === 'withdrawal.delayed' ? 'Delayed at the bank, funds held' : statusLabel[n.status] },
    { label: 'Amount to your bank', value: `${n.fiatAmount} ${n.fiatCurrency}` },
    { label: n.status === 'rejected' ? 'USDT held for it' : 'USDT debited', value: `${usdt(n.debitedMinor)} USDT` },
  ];
  if (n.status === 'rejected') rows.push({ label: 'Returned to your balance', value: `${usdt(n.restoredMinor ?? n.debitedMinor)} USDT` });
  rows.push({ label: 'Withdrawal', value: n.withdrawalId });
  return rows;
}

const footer = 'This is an automatic message about a withdrawal from your Offramp account. If you did not ask for it, contact support.';

/** The e-mail for a notification: the same facts as plain text and as HTML. Pure, so it is tested without SMTP. */
export function emailOf(n: InAppNotification): EmailContent {
  const rows = rowsOf(n);
  const width = Math.max(...rows.map((r) => r.label.length));
  const text = [
    headlineOf(n),
    '',
    n.message,
    '',
    ...(n.failure ? [n.failure.message, ''] : []),
    ...rows.map((r) => `${`${r.label}:`.padEnd(width + 2)}${r.value}`),
    '',
    footer,
    '',
  ].join('\n');
  const cells = rows
    .map(
      (r) =>
        `<tr><th align="left" style="padding:4px 12px 4px 0;font-weight:normal;color:#555">${escapeHtml(r.label)}</th><td style="padding:4px 0"><strong>${escapeHtml(r.value)}</strong></td></tr>`,
    )
    .join('\n');
  const html = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${escapeHtml(headlineOf(n))}</title></head>
<body style="font-family:Arial,Helvetica,sans-serif;color:#222;max-width:560px;margin:0 auto;padding:16px">
<h1 style="font-size:20px">${escapeHtml(headlineOf(n))}</h1>
<p>${escapeHtml(n.message)}</p>
${n.failure ? `<p>${escapeHtml(n.failure.message)}</p>\n` : ''}<table role="presentation" style="border-collapse:collapse">
${cells}
</table>
<p style="font-size:12px;color:#777">${escapeHtml(footer)}</p>
</body>
</html>
`;
  return { subject: subjectOf(n), text, html };
}
