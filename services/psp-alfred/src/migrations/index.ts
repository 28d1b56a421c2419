import { PspAlfredInitial } from './0001-psp-alfred.ts';
import { PspAlfredEarlyEvents } from './0002-early-events.ts';
import { PspAlfredFiatAccountErrors } from './0003-fiat-account-errors.ts';
import { PspAlfredRedispatch } from './0004-redispatch.ts';

/** psp-alfred's migrations, in order. */
export const migrations = [
  { name: '0001_psp_alfred', class: PspAlfredInitial },
  { name: '0002_early_events', class: PspAlfredEarlyEvents },
  { name: '0003_fiat_account_errors', class: PspAlfredFiatAccountErrors },
  { name: '0004_redispatch', class: PspAlfredRedispatch },
];
