// Compatibility access tokens as MAS makes them, so that one we write into compat_access_tokens
// passes the format check MAS applies before it even looks a token up: `mct_`, 30 random ASCII
// letters and digits, `_`, then a 6-character checksum. The checksum is the CRC-32 (ISO-HDLC, the
// one zlib computes) of everything before the second underscore, in base 62 (0-9, A-Z, a-z), with
// the digits written least significant first and then left-padded with '0' to six characters. That
// digit order is MAS's own quirk; a conventional base-62 encoder gives tokens MAS rejects.
import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

export const COMPAT_ACCESS_TOKEN_PREFIX = 'mct';
const RANDOM_LENGTH = 30;
const CHECKSUM_LENGTH = 6;

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
// The largest multiple of 62 a byte can hold: bytes from here up would favour the first characters.
const UNBIASED_LIMIT = 256 - (256 % ALPHANUMERIC.length);

/** `count` characters drawn uniformly from [A-Za-z0-9] by rejection sampling of random bytes. */
export function randomAlphanumeric(count: number, random: (n: number) => Buffer = randomBytes): string {
  let out = '';
  while (out.length < count) {
    for (const byte of random(count - out.length + 8)) {
      if (byte >= UNBIASED_LIMIT) continue;
      out += ALPHANUMERIC[byte % ALPHANUMERIC.length];
      if (out.length === count) break;
    }
  }
  return out;
}

/** MAS's encoding of a CRC: base 62, least significant digit first, left-padded to 6 with '0'. */
export function encodeChecksum(crc: number): string {
  let digits = '';
  for (let n = crc >>> 0; n > 0; n = Math.floor(n / 62)) digits += BASE62[n % 62];
  return digits.padStart(CHECKSUM_LENGTH, '0');
}

export function tokenChecksum(base: string): string {
  return encodeChecksum(crc32(base));
}

/** A new `mct_` token. The caller wraps it in a Secret at once. */
export function generateCompatAccessToken(random?: (n: number) => Buffer): string {
  const base = `${COMPAT_ACCESS_TOKEN_PREFIX}_${randomAlphanumeric(RANDOM_LENGTH, random)}`;
  return `${base}_${tokenChecksum(base)}`;
}

/** Whether MAS would accept the token's format (prefix, lengths, checksum). */
export function isWellFormedCompatAccessToken(token: string): boolean {
  const parts = token.split('_');
  if (parts.length !== 3) return false;
  const [prefix, random, checksum] = parts as [string, string, string];
  if (prefix !== COMPAT_ACCESS_TOKEN_PREFIX || random.length !== RANDOM_LENGTH || checksum.length !== CHECKSUM_LENGTH) return false;
  return tokenChecksum(`${prefix}_${random}`) === checksum;
}
