// MAS ids are ULIDs; its tables store them as uuid (the same 128 bits). `manage` speaks ULID strings
// (what MAS prints, what the admin API returns, what job payloads carry) and converts only here, at
// the edge of the database. The SQL builders exist for statements that turn every row of a table into
// a job (provision-all-users): reading millions of ids out just to encode them would be pointless.
import { monotonicFactory } from 'ulid';
import { MasToolError } from '../../errors.js';

// Monotonic, so that ids made in one batch sort in the order they were made (MAS's worker takes
// jobs by id), with the package's default source of randomness (crypto.getRandomValues).
const nextUlid = monotonicFactory();

export function newUlid(): string {
  return nextUlid();
}

// Crockford base 32 without I, L, O and U; a first character above 7 would overflow 128 bits.
const ULID_PATTERN = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/i;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const HEX = '0123456789abcdef';
/** Character code to its 5-bit value (both cases), -1 for anything else. */
const CROCKFORD_VALUE = new Int8Array(128).fill(-1);
for (let v = 0; v < 32; v++) {
  CROCKFORD_VALUE[CROCKFORD.charCodeAt(v)] = v;
  CROCKFORD_VALUE[CROCKFORD.toLowerCase().charCodeAt(v)] = v;
}

// Bulk commands convert every id of every batch, both ways; the ulid package's converters go
// through regular expressions and string padding per character, which showed in the benchmark.
// These walk the 128 bits once: a ULID is two zero bits then the uuid's bits, in groups of five.

// Character codes are collected in reused arrays and turned into a string once: appending character
// by character would make a chain of intermediate strings per id.
const CROCKFORD_CODES = [...CROCKFORD].map((c) => c.charCodeAt(0));
const HEX_CODES = [...HEX].map((c) => c.charCodeAt(0));
const uuidCodes: number[] = new Array(36).fill(45);
const ulidCodes: number[] = new Array(26).fill(48);

/** ULID text (already checked against ULID_PATTERN) to uuid text. */
function ulidToUuidText(ulid: string): string {
  let acc = CROCKFORD_VALUE[ulid.charCodeAt(0)] ?? 0;
  let bits = 3;
  let at = 0;
  for (let i = 1; i < 26; i++) {
    acc = (acc << 5) | (CROCKFORD_VALUE[ulid.charCodeAt(i)] ?? 0);
    bits += 5;
    while (bits >= 4) {
      bits -= 4;
      // Dashes stay where they are (positions 8, 13, 18 and 23).
      if (at === 8 || at === 13 || at === 18 || at === 23) at++;
      uuidCodes[at++] = HEX_CODES[(acc >> bits) & 15] ?? 48;
    }
    acc &= (1 << bits) - 1;
  }
  return String.fromCharCode(...uuidCodes);
}

/** uuid text (checked against UUID_PATTERN) to ULID text. */
function uuidTextToUlid(uuid: string): string {
  let acc = 0;
  // Two leading zero bits make 130 bits, 26 characters of five.
  let bits = 2;
  let at = 0;
  for (let i = 0; i < uuid.length; i++) {
    const c = uuid.charCodeAt(i);
    if (c === 45) continue; // '-'
    acc = (acc << 4) | (c <= 57 ? c - 48 : (c | 32) - 87);
    bits += 4;
    if (bits >= 5) {
      bits -= 5;
      ulidCodes[at++] = CROCKFORD_CODES[(acc >> bits) & 31] ?? 48;
      acc &= (1 << bits) - 1;
    }
  }
  return String.fromCharCode(...ulidCodes);
}

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
  return ulidToUuidText(ulid);
}

/** The uuid text of a ULID, or null when the string is not one (a username that only looks like an id). */
export function toUuidOrNull(ulid: string | undefined): string | null {
  return ulid !== undefined && isUlid(ulid) ? ulidToUuidText(ulid) : null;
}

/** The ids in canonical form (upper case), each once, first occurrence first. */
export function canonicalUlids(ids: readonly string[], what = 'id'): string[] {
  return [
    ...new Set(
      ids.map((id) => {
        if (!isUlid(id)) toUuid(id, what);
        return id.toUpperCase();
      }),
    ),
  ];
}

/** The ULID (26 upper-case Crockford characters) of a uuid as node-postgres returns it. */
export function toUlid(uuid: string): string {
  if (!UUID_PATTERN.test(uuid)) throw new Error(`toUlid: ${JSON.stringify(uuid)} is not a uuid`);
  return uuidTextToUlid(uuid);
}

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
