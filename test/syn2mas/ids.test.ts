// MAS ids: ULIDs stored as UUIDs, 48 bits of Unix milliseconds then 80 bits from a keyed hash of
// the row's kind and natural key.
import { describe, expect, it } from 'vitest';
import { createIdFactory, uuidTimestampMs, type IdKind } from '../../src/syn2mas/ids.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const KINDS: readonly IdKind[] = ['user', 'password', 'email', 'link', 'session', 'deviceless', 'access', 'refresh'];
const SECRET = Buffer.alloc(32, 1);

describe('createIdFactory', () => {
  const ids = createIdFactory(SECRET);

  it('makes canonical lowercase UUID strings (8-4-4-4-12 hex)', () => {
    for (const kind of KINDS) {
      const id = ids.id(kind, '@alice:example.com', 1530393962000);
      expect(id).toMatch(UUID);
      expect(id).toHaveLength(36);
    }
  });

  it('puts the timestamp in the first 48 bits, big-endian', () => {
    // 1530393962000 ms = 0x01645296a610
    const id = ids.id('user', '@alice:example.com', 1530393962000);
    expect(id.slice(0, 13)).toBe('01645296-a610');
  });

  it.each([0, 1, 1530393962000, 1554228549014, 1623366000000, Date.UTC(2025, 0, 2, 3, 4, 5, 678), 2 ** 48 - 1])(
    'round-trips the timestamp %d through uuidTimestampMs',
    (ts) => {
      expect(uuidTimestampMs(ids.id('session', 'ADEVICE', ts))).toBe(ts);
    },
  );

  it('truncates a fractional timestamp to the millisecond', () => {
    expect(uuidTimestampMs(ids.id('access', '42', 1623366000000.9))).toBe(1623366000000);
  });

  it('clamps a negative timestamp to 0', () => {
    const id = ids.id('user', '@old:example.com', -1);
    expect(id).toMatch(UUID);
    expect(id.startsWith('00000000-0000-')).toBe(true);
    expect(uuidTimestampMs(id)).toBe(0);
    expect(uuidTimestampMs(ids.id('user', '@old:example.com', -1530393962000))).toBe(0);
  });

  it('gives different kinds with the same key and time different ids', () => {
    const all = KINDS.map((kind) => ids.id(kind, '42', 1700000000000));
    expect(new Set(all).size).toBe(KINDS.length);
  });

  it('gives the same kind, key and time the same id, also from another factory with the same secret', () => {
    const a = ids.id('email', 'email\u0000alice@example.com', 1554228549014);
    expect(ids.id('email', 'email\u0000alice@example.com', 1554228549014)).toBe(a);
    expect(createIdFactory(Buffer.alloc(32, 1)).id('email', 'email\u0000alice@example.com', 1554228549014)).toBe(a);
  });

  it('gives different ids under a different secret, with the same timestamp', () => {
    const a = ids.id('user', '@alice:example.com', 1530393962000);
    const b = createIdFactory(Buffer.alloc(32, 2)).id('user', '@alice:example.com', 1530393962000);
    expect(b).not.toBe(a);
    expect(uuidTimestampMs(b)).toBe(uuidTimestampMs(a));
  });

  it('gives 100,000 distinct keys at the same millisecond 100,000 distinct ids', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 100_000; i++) seen.add(ids.id('user', `@user${i}:example.com`, 1700000000000));
    expect(seen.size).toBe(100_000);
  });

  it('uses a fresh random secret per factory by default, so a new run gives new ids', () => {
    const a = createIdFactory().id('user', '@alice:example.com', 1530393962000);
    const b = createIdFactory().id('user', '@alice:example.com', 1530393962000);
    expect(a).toMatch(UUID);
    expect(b).not.toBe(a);
    expect(uuidTimestampMs(a)).toBe(1530393962000);
    expect(uuidTimestampMs(b)).toBe(1530393962000);
  });
});

describe('uuidTimestampMs', () => {
  it('reads the first 48 bits of any UUID as milliseconds', () => {
    expect(uuidTimestampMs('01645296-a610-0000-0000-000000000000')).toBe(1530393962000);
    expect(uuidTimestampMs('00000000-0000-0000-0000-000000000000')).toBe(0);
    expect(uuidTimestampMs('ffffffff-ffff-ffff-ffff-ffffffffffff')).toBe(2 ** 48 - 1);
  });
});
