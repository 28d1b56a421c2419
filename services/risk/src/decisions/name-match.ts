/**
 * Travel Rule name comparison. Names from banks and KYC providers differ in case, accents,
 * punctuation, spacing and word order ("PEREZ GARCIA, Juan" vs "Juan Pérez García"); those
 * differences are not a mismatch. A missing or extra word is: a reviewer should look at it.
 */

// Letters that Unicode decomposition leaves alone but that people write without the mark.
const foldedLetters: Record<string, string> = { ß: 'ss', æ: 'ae', œ: 'oe', ø: 'o', đ: 'd', ł: 'l', þ: 'th', ð: 'd', ı: 'i' };

/** The words of a name, folded to plain lower-case letters and digits, sorted. */
export function nameTokens(name: string): string[] {
  const folded = name
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[ßæœøđłþðı]/g, (c) => foldedLetters[c] ?? c)
    // Apostrophes join (O'Brien = OBrien); every other punctuation separates words.
    .replace(/['’`ʼ]/g, '');
  return folded
    .split(/[^\p{L}\p{N}]+/u)
    .filter((t) => t.length > 0)
    .sort();
}

/** True when both names have the same words once normalized; an empty name matches nothing. */
export function namesMatch(a: string, b: string): boolean {
  const x = nameTokens(a);
  const y = nameTokens(b);
  return x.length > 0 && x.length === y.length && x.every((t, i) => t === y[i]);
}
