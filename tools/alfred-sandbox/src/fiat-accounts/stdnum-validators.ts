import { stdnum, type Validator } from 'stdnum';

/** A stdnum validator looked up once at start; a missing one is a packaging bug, so it throws. */
function validatorOf(country: string, name: string): Validator {
  const validator = stdnum[country]?.[name];
  if (!validator) throw new Error(`stdnum has no ${country}.${name} validator`);
  return validator;
}

/** Returns the compact form of a valid number (separators stdnum knows removed), or null. */
export type NumberCheck = (value: string) => string | null;

export function stdnumCheck(country: string, name: string): NumberCheck {
  const validator = validatorOf(country, name);
  return (value) => {
    const result = validator.validate(value);
    return result.isValid ? result.compact : null;
  };
}

export const patternCheck =
  (pattern: RegExp): NumberCheck =>
  (value) =>
    pattern.test(value) ? value : null;

/** Whether stdnum refused the number for its check digits alone (length and characters were fine). */
export function failsOnlyOnChecksum(country: string, name: string, value: string): boolean {
  const result = validatorOf(country, name).validate(value);
  return !result.isValid && result.error?.name === 'InvalidChecksum';
}
