// MAS identifiers are ULIDs stored as UUIDs: 48 bits of Unix milliseconds, then 80 bits that mas-cli
// draws at random. We derive those 80 bits from a keyed hash of the row's natural key instead
// (a fresh random key per run), so that a dependent row computes its parent's id from data it
// already has, and the migration needs no in-memory map from users or devices to ids. To anyone
// without the key the bits are as unpredictable as random ones, and a new run gives new ids.
import { hash, randomBytes } from 'node:crypto';

const MAX_TIME = 2 ** 48 - 1;

export type IdKind = 'user' | 'password' | 'email' | 'link' | 'session' | 'deviceless' | 'access' | 'refresh' | 'registrationToken';

export interface IdFactory {
  /** The UUID of a `kind` row with natural key `key`, whose ULID time is `timestampMs`. */
  id(kind: IdKind, key: string, timestampMs: number): string;
}

export function createIdFactory(secret: Buffer = randomBytes(16)): IdFactory {
  // A salted digest, not a security boundary: ids are not secrets, they only need to be unique and
  // not guessable in advance. A one-shot MD5 costs a third of a keyed SHA-256, and this runs for
  // every row of the migration.
  const salt = `${secret.toString('hex')}\u0000`;
  return {
    id(kind, key, timestampMs) {
      const time = Number.isFinite(timestampMs) ? Math.min(Math.max(Math.floor(timestampMs), 0), MAX_TIME) : 0;
      const d = hash('md5', `${salt}${kind}\u0000${key}`, 'hex');
      const t = time.toString(16).padStart(12, '0');
      return `${t.slice(0, 8)}-${t.slice(8, 12)}-${d.slice(0, 4)}-${d.slice(4, 8)}-${d.slice(8, 20)}`;
    },
  };
}

/** The millisecond timestamp a ULID-as-UUID carries. */
export function uuidTimestampMs(uuid: string): number {
  return parseInt(uuid.replace(/-/g, '').slice(0, 12), 16);
}
