/** Which switches are on: the global one and the frozen countries. */
export interface FreezeFlags {
  global: boolean;
  countries: ReadonlySet<string>;
}

/** The scope that freezes withdrawals for these countries ('global' first), or null when none does. */
export function frozenScope(flags: FreezeFlags, countries: readonly string[]): string | null {
  if (flags.global) return 'global';
  return countries.map((c) => c.toUpperCase()).find((c) => flags.countries.has(c)) ?? null;
}
