// Hashes a new password exactly as MAS (1.22 line) does for `user_passwords`, so that a password set
// directly in the database verifies in MAS and is not needlessly re-hashed on the next login.
//
// What MAS does (crates/handlers/src/passwords.rs and crates/config/src/sections/passwords.rs):
// - unicode_normalization: NFKC-normalise the password first (as Synapse does); otherwise use its
//   UTF-8 bytes unchanged.
// - bcrypt: input is the password bytes followed by the pepper bytes; cost defaults to 12; the output
//   uses the `$2b$` prefix.
// - argon2id: argon2 0x13 with the crate defaults (m=19456 KiB, t=2, p=1, 32-byte output, 16-byte
//   salt), PHC string; the pepper is argon2's secret (keyed hashing), not appended.
// - pbkdf2: PBKDF2-HMAC-SHA256, 600000 rounds, 32-byte output, 16-byte salt, password bytes followed
//   by the pepper, PHC string `$pbkdf2-sha256$i=600000,l=32$<salt>$<hash>` (unpadded standard base64).
import { pbkdf2, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import bcrypt from 'bcryptjs';
import { hash as argon2Hash, type Algorithm as Argon2Algorithm, type Version as Argon2Version } from '@node-rs/argon2';
import type { Secret } from '../secret.js';

export type PasswordHashAlgorithm = 'bcrypt' | 'argon2id' | 'pbkdf2';

export interface PasswordHashScheme {
  version: number;
  algorithm: PasswordHashAlgorithm;
  /** bcrypt cost; MAS's default is 12. Ignored by the other algorithms, as in MAS. */
  cost?: number;
  /** The scheme's pepper (`secret`, or the raw bytes of `secret_file`). */
  pepper?: Buffer;
  unicodeNormalization: boolean;
}

export interface PasswordHashResult {
  hash: string;
  /** The scheme version to store next to the hash. */
  version: number;
}

export const BCRYPT_DEFAULT_COST = 12;
export const ARGON2_PARAMS = { memoryCost: 19456, timeCost: 2, parallelism: 1, outputLen: 32 } as const;
export const PBKDF2_PARAMS = { digest: 'sha256', rounds: 600_000, outputLength: 32, saltLength: 16 } as const;

// @node-rs/argon2 declares these as `const enum`s, which do not exist at run time; use their values.
const ARGON2ID = 2 as Argon2Algorithm;
const ARGON2_V0X13 = 1 as Argon2Version;

const pbkdf2Async = promisify(pbkdf2);

/** Unpadded standard base64, the "B64" encoding of PHC strings. */
export function phcBase64(bytes: Buffer): string {
  return bytes.toString('base64').replace(/=+$/, '');
}

function passwordBytes(password: Secret, unicodeNormalization: boolean): Buffer {
  if (!unicodeNormalization) return password.revealBytes();
  return Buffer.from(password.reveal().normalize('NFKC'), 'utf8');
}

function withPepper(bytes: Buffer, pepper: Buffer | undefined): Buffer {
  return pepper === undefined || pepper.length === 0 ? bytes : Buffer.concat([bytes, pepper]);
}

async function hashBcrypt(input: Buffer, cost: number): Promise<string> {
  if (!Number.isInteger(cost) || cost < 4 || cost > 31) {
    throw new Error(`bcrypt cost must be an integer from 4 to 31, not ${cost}`);
  }
  // bcryptjs takes a string and hashes its UTF-8 bytes, so the input must be valid UTF-8 to reach
  // it byte for byte. The password always is; only a binary pepper file could break this.
  const text = input.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(input)) {
    throw new Error('the bcrypt pepper is not valid UTF-8; it cannot be hashed as MAS does with this tool');
  }
  // bcryptjs writes the `$2b$` prefix, as MAS does.
  return bcrypt.hash(text, await bcrypt.genSalt(cost));
}

async function hashArgon2id(input: Buffer, pepper: Buffer | undefined): Promise<string> {
  return argon2Hash(input, {
    algorithm: ARGON2ID,
    version: ARGON2_V0X13,
    ...ARGON2_PARAMS,
    ...(pepper !== undefined && pepper.length > 0 ? { secret: pepper } : {}),
  });
}

async function hashPbkdf2(input: Buffer): Promise<string> {
  const { digest, rounds, outputLength, saltLength } = PBKDF2_PARAMS;
  const salt = randomBytes(saltLength);
  const derived = await pbkdf2Async(input, salt, rounds, outputLength, digest);
  return `$pbkdf2-${digest}$i=${rounds},l=${outputLength}$${phcBase64(salt)}$${phcBase64(derived)}`;
}

export async function hashPassword(password: Secret, scheme: PasswordHashScheme): Promise<PasswordHashResult> {
  const bytes = passwordBytes(password, scheme.unicodeNormalization);
  try {
    let hash: string;
    switch (scheme.algorithm) {
      case 'bcrypt': {
        const input = withPepper(bytes, scheme.pepper);
        try {
          hash = await hashBcrypt(input, scheme.cost ?? BCRYPT_DEFAULT_COST);
        } finally {
          input.fill(0);
        }
        break;
      }
      case 'argon2id':
        hash = await hashArgon2id(bytes, scheme.pepper);
        break;
      case 'pbkdf2': {
        const input = withPepper(bytes, scheme.pepper);
        try {
          hash = await hashPbkdf2(input);
        } finally {
          input.fill(0);
        }
        break;
      }
      default: {
        const unknown: never = scheme.algorithm;
        throw new Error(`unknown password hashing algorithm ${String(unknown)}`);
      }
    }
    return { hash, version: scheme.version };
  } finally {
    bytes.fill(0);
  }
}
