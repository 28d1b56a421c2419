import { describe, expect, it } from 'vitest';
import { nameTokens, namesMatch } from '../src/decisions/name-match.ts';

describe('travel rule name matching', () => {
  it.each([
    ['case', 'juan perez', 'JUAN PEREZ'],
    ['accents', 'José Pérez Muñoz', 'Jose Perez Munoz'],
    ['punctuation', 'Pérez-García, Juan A.', 'Juan A Pérez García'],
    ['extra spaces', '  Maria   da  Silva ', 'Maria da Silva'],
    ['word order', 'PEREZ GARCIA JUAN', 'Juan Pérez García'],
    ['apostrophes', "Seán O'Brien", 'Sean OBrien'],
    ['letters without a decomposition', 'Søren Straße', 'Soren Strasse'],
  ])('when two names differ only by %s, then they match', (_what, a, b) => {
    expect(namesMatch(a, b)).toBe(true);
    expect(namesMatch(b, a)).toBe(true);
  });

  it.each([
    ['a missing word', 'Juan Perez Garcia', 'Juan Perez'],
    ['another person', 'Maria Silva', 'Mario Silva'],
    ['a repeated word', 'Juan Juan Perez', 'Juan Perez Perez'],
    ['an empty name', '', ''],
    ['only punctuation', '--', '--'],
  ])('when the names differ by %s, then they do not match', (_what, a, b) => {
    expect(namesMatch(a, b)).toBe(false);
  });

  it('when a name is normalized, then its words are folded and sorted', () => {
    expect(nameTokens('  PÉREZ-García,   Juan ')).toEqual(['garcia', 'juan', 'perez']);
  });
});
