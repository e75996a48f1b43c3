// MAS ids are ULIDs; its tables store them as uuid (the same 128 bits). `manage` speaks ULID strings
// (what MAS prints, what the admin API returns, what job payloads carry) and converts only here, at
// the edge of the database. The SQL builders exist for statements that turn every row of a table into
// a job (provision-all-users): reading millions of ids out just to encode them would be pointless.
import { monotonicFactory, ulidToUUID, uuidToULID } from 'ulid';
import { MasToolError } from '../../errors.js';

// Monotonic, so that ids made in one batch sort in the order they were made (MAS's worker takes
// jobs by id), with the package's default source of randomness (crypto.getRandomValues).
const nextUlid = monotonicFactory();

export function newUlid(): string {
  return nextUlid();
}

// Crockford base 32 without I, L, O and U; a first character above 7 would overflow 128 bits.
const ULID_PATTERN = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/i;

export function isUlid(value: string): boolean {
  return ULID_PATTERN.test(value);
}

/** The uuid text of a ULID; an id that is not a ULID is a clear error, not a driver message. */
export function toUuid(ulid: string, what = 'id'): string {
  if (!isUlid(ulid)) {
    throw new MasToolError('MAS_TOOL_INVALID_ID', `"${ulid}" is not a valid MAS ${what}: MAS ids are 26-character ULIDs.`, {
      hint: 'Copy the id from the MAS admin API or from `mas-tool manage` output.',
    });
  }
  return ulidToUUID(ulid.toUpperCase()).toLowerCase();
}

/** The uuid text of a ULID, or null when the string is not one (a username that only looks like an id). */
export function toUuidOrNull(ulid: string | undefined): string | null {
  return ulid !== undefined && isUlid(ulid) ? ulidToUUID(ulid.toUpperCase()).toLowerCase() : null;
}

/** The ids in canonical form (upper case), each once, first occurrence first. */
export function canonicalUlids(ids: readonly string[], what = 'id'): string[] {
  return [...new Set(ids.map((id) => uuidToULID(toUuid(id, what))))];
}

/** The ULID (26 upper-case Crockford characters) of a uuid as node-postgres returns it. */
export function toUlid(uuid: string): string {
  return uuidToULID(uuid);
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * SQL for the 130 bits a ULID string encodes: two zero bits, then the uuid's 128. Put it in a
 * LATERAL so that `ulidTextSql` reads it once per row.
 */
export function ulidBitsSql(uuidExpr: string): string {
  return `B'00' || ('x' || replace((${uuidExpr})::text, '-', ''))::bit(128)`;
}

/** SQL for the ULID text of `ulidBitsSql` bits: 26 groups of five bits, each a Crockford character. */
export function ulidTextSql(bitsExpr: string): string {
  const chars = Array.from({ length: 26 }, (_, i) => `substr('${CROCKFORD}', substring(${bitsExpr} FROM ${i * 5 + 1} FOR 5)::int + 1, 1)`);
  return `(${chars.join(' || ')})`;
}

/**
 * SQL for a new ULID-shaped uuid: the transaction's time in milliseconds, then 80 bits of a random
 * uuid (which carry 74 random bits; enough for ids that only have to be unique).
 */
export const NEW_ULID_UUID_SQL =
  `encode(substring(int8send((extract(epoch FROM now()) * 1000)::bigint) FROM 3 FOR 6) || substring(uuid_send(gen_random_uuid()) FROM 7 FOR 10), 'hex')::uuid`;
