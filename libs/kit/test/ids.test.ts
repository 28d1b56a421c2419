import { describe, expect, it } from 'vitest';
import { validate, version } from 'uuid';
import { newId } from '../src/ids.ts';

describe('newId', () => {
  it('when many ids are made at once (several pools of random bytes), then each is a valid v7 uuid, all differ, and they sort in the order they were made', () => {
    const ids = Array.from({ length: 5_000 }, () => newId());
    expect(ids.every((id) => validate(id) && version(id) === 7)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });
});
