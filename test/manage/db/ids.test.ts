// The id conversions the database backend makes for every user of a bulk run, checked against the
// ulid package's own converters (which they replace for speed) on random ids and on the edges.
import { randomUUID } from 'node:crypto';
import { ulidToUUID, uuidToULID } from 'ulid';
import { describe, expect, it } from 'vitest';
import { canonicalUlids, newUlid, toUlid, toUuid, toUuidOrNull } from '../../../src/manage/db/ids.js';

describe('uuid and ULID conversions', () => {
  it('agree with the ulid package both ways on random ids', () => {
    for (let i = 0; i < 2000; i++) {
      const uuid = randomUUID();
      const ulid = toUlid(uuid);
      expect(ulid).toBe(uuidToULID(uuid));
      expect(toUuid(ulid)).toBe(uuid);
      const made = newUlid();
      expect(toUuid(made)).toBe(ulidToUUID(made).toLowerCase());
    }
  });

  it('handle the smallest and largest ids, upper-case uuids and lower-case ULIDs', () => {
    expect(toUlid('00000000-0000-0000-0000-000000000000')).toBe('00000000000000000000000000');
    expect(toUlid('FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF')).toBe('7ZZZZZZZZZZZZZZZZZZZZZZZZZ');
    expect(toUuid('7zzzzzzzzzzzzzzzzzzzzzzzzz')).toBe('ffffffff-ffff-ffff-ffff-ffffffffffff');
    expect(canonicalUlids(['01arz3ndektsv4rrffq69g5fav', '01ARZ3NDEKTSV4RRFFQ69G5FAV'])).toEqual(['01ARZ3NDEKTSV4RRFFQ69G5FAV']);
  });

  it('refuse what is not an id, clearly', () => {
    expect(() => toUuid('8ZZZZZZZZZZZZZZZZZZZZZZZZZ', 'user id')).toThrow('"8ZZZZZZZZZZZZZZZZZZZZZZZZZ" is not a valid MAS user id');
    expect(toUuidOrNull('alice')).toBeNull();
    expect(() => toUlid('not-a-uuid')).toThrow(/is not a uuid/);
  });
});
