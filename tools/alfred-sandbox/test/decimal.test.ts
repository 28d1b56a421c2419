import { describe, expect, it } from 'vitest';
import { divide, divideByRate, formatMinor, multiplyByRate, parseDecimal, percentOf, toMinor } from '../src/money/decimal.ts';

describe('exact decimals', () => {
  it('when decimal text is parsed, then plain decimals pass and everything else is null', () => {
    expect(parseDecimal('17.25')).toEqual({ units: 1725n, scale: 2 });
    expect(parseDecimal('940')).toEqual({ units: 940n, scale: 0 });
    for (const bad of ['', '-1', '01', '1.', '.5', '1e3', ' 1', '1,5', 'NaN']) expect(parseDecimal(bad)).toBeNull();
  });

  it('when amounts convert to minor units and back, then nothing is lost and excess precision is refused', () => {
    expect(toMinor('0.1', 6)).toBe(100_000n);
    expect(toMinor('123456789012345678.123456', 6)).toBe(123456789012345678123456n);
    expect(toMinor('0.0000001', 6)).toBeNull();
    expect(formatMinor(123456789012345678123456n, 6)).toBe('123456789012345678.123456');
    expect(formatMinor(5n, 2)).toBe('0.05');
    expect(formatMinor(45120n, 0)).toBe('45120');
  });

  it('when dividing, multiplying by rates and taking percentages, then rounding goes the way it is told', () => {
    expect(divide(10n, 3n, 'floor')).toBe(3n);
    expect(divide(10n, 3n, 'ceil')).toBe(4n);
    expect(divide(9n, 3n, 'ceil')).toBe(3n);
    // 0.1 USDT at 17.25 MXN is 1.725 MXN: floats would say 1.7249999…; scaled integers do not.
    expect(multiplyByRate(100_000n, 6, parseDecimal('17.25')!, 2, 'floor')).toBe(172n);
    expect(multiplyByRate(100_000n, 6, parseDecimal('17.25')!, 2, 'ceil')).toBe(173n);
    expect(divideByRate(100_000n, 2, parseDecimal('17.25')!, 6, 'ceil')).toBe(57_971_015n);
    expect(percentOf(123_456_789n, parseDecimal('1')!, 'ceil')).toBe(1_234_568n);
    expect(percentOf(123_456_789n, parseDecimal('0.5')!, 'floor')).toBe(617_283n);
  });
});
