// What `manage registration-token` accepts before it asks MAS anything: the token text (the Matrix
// spec's rule for m.login.registration_token, which clients enforce), the number of uses, the expiry
// (a date, a date and time, or a duration from now), and what state a token is in. Pure.
import { randomInt } from 'node:crypto';
import { MasToolError, UsageError } from '../errors.js';
import type { MasRegistrationToken, RegistrationTokenState } from './model.js';

/** The Matrix spec (MSC3231): at most 64 characters from [A-Za-z0-9._~-]. */
export const MAX_TOKEN_LENGTH = 64;
const TOKEN_CHARS = /^[A-Za-z0-9._~-]+$/;
const GENERATED_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** As mas-cli makes them: 12 letters and digits (about 71 bits). */
export const GENERATED_TOKEN_LENGTH = 12;

/** A sentence saying what is wrong with a token the operator chose, or undefined. Never quotes it. */
export function tokenProblem(token: string): string | undefined {
  if (token === '') return 'the token is empty';
  if ([...token].length > MAX_TOKEN_LENGTH) return `the token is ${[...token].length} characters long; Matrix clients accept at most ${MAX_TOKEN_LENGTH}`;
  if (!TOKEN_CHARS.test(token)) {
    const at = [...token].findIndex((c) => !TOKEN_CHARS.test(c));
    return `the token has a character Matrix clients do not accept at position ${at + 1}; use only A-Z, a-z, 0-9 and . _ ~ -`;
  }
  return undefined;
}

/** A new random token, from the CSPRNG with rejection sampling (no modulo bias). */
export function generateRegistrationToken(): string {
  let token = '';
  for (let i = 0; i < GENERATED_TOKEN_LENGTH; i++) token += GENERATED_ALPHABET[randomInt(GENERATED_ALPHABET.length)];
  return token;
}

/** `--uses N`: a whole number, 1 or more. */
export function parseUses(text: string): number {
  const t = text.trim();
  if (!/^[+-]?\d+$/.test(t)) throw new UsageError(`--uses ${text}: give a whole number of registrations this token allows, such as --uses 5.`, { hint: 'Use --unlimited for a token without a limit.' });
  const n = Number(t);
  if (n < 1) throw new UsageError(`--uses ${text}: a token must allow at least one registration.`, { hint: 'Give 1 or more, or --unlimited for no limit.' });
  // MAS stores the limit as a 32-bit integer.
  if (n > 2_147_483_647) throw new UsageError(`--uses ${text}: MAS cannot store a limit that large (at most 2147483647).`, { hint: 'Use --unlimited for no limit.' });
  return n;
}

const DURATION = /^(\d+)\s*(m|min|h|d|w)$/i;
const UNIT_MS: Record<string, number> = { m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
// RFC 3339 with a time zone: 2026-12-31T18:00:00Z, 2026-12-31 18:00+01:00, seconds and fractions optional.
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})$/i;

const EXPIRES_HINT =
  'Give a date (2026-12-31: the token works until the end of that day, UTC), a date and time with its zone (2026-12-31T18:00:00Z, 2026-12-31T18:00+01:00), or a duration from now (30m, 12h, 7d, 2w).';

/** `--expires`: the moment the token stops working, as RFC 3339 (UTC, milliseconds). */
export function parseExpires(text: string, now: Date): string {
  const t = text.trim();
  let at: Date;
  const duration = DURATION.exec(t);
  if (duration !== null) {
    at = new Date(now.getTime() + Number(duration[1]) * (UNIT_MS[duration[2]!.toLowerCase()] ?? 0));
  } else if (DATE_ONLY.test(t)) {
    const [, y, m, d] = DATE_ONLY.exec(t)!;
    const day = new Date(Date.UTC(Number(y), Number(m) - 1, Number(d)));
    if (day.getUTCFullYear() !== Number(y) || day.getUTCMonth() !== Number(m) - 1 || day.getUTCDate() !== Number(d)) throw new UsageError(`--expires ${text}: there is no such date.`, { hint: EXPIRES_HINT });
    // The whole day counts: the token stops at the start of the next one.
    at = new Date(day.getTime() + 86_400_000);
  } else if (DATE_TIME.test(t)) {
    const [, y, mo, d, h, mi, s] = DATE_TIME.exec(t)!;
    const check = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
    if (check.getUTCMonth() !== Number(mo) - 1 || check.getUTCDate() !== Number(d) || Number(h) > 23 || Number(mi) > 59 || Number(s ?? 0) > 59) {
      throw new UsageError(`--expires ${text}: there is no such date or time.`, { hint: EXPIRES_HINT });
    }
    at = new Date(t.replace(' ', 'T').replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  } else if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(t)) {
    throw new UsageError(`--expires ${text}: a date and time needs its time zone (Z for UTC, or an offset such as +01:00).`, { hint: EXPIRES_HINT });
  } else {
    throw new UsageError(`--expires ${text}: not a date, date and time, or duration mas-tool understands.`, { hint: EXPIRES_HINT });
  }
  if (Number.isNaN(at.getTime())) throw new UsageError(`--expires ${text}: not a valid date.`, { hint: EXPIRES_HINT });
  if (at.getTime() <= now.getTime()) throw new UsageError(`--expires ${text} is ${at.toISOString()}, which has already passed.`, { hint: EXPIRES_HINT });
  return at.toISOString();
}

/** Revoked wins over expired, expired over used up: the reason the token would be refused first. */
export function tokenState(t: Pick<MasRegistrationToken, 'revokedAt' | 'expiresAt' | 'usageLimit' | 'timesUsed'>, now: Date): RegistrationTokenState {
  if (t.revokedAt !== null) return 'revoked';
  if (t.expiresAt !== null && Date.parse(t.expiresAt) <= now.getTime()) return 'expired';
  if (t.usageLimit !== null && t.timesUsed >= t.usageLimit) return 'used-up';
  return 'usable';
}

export const TOKEN_STATES: readonly RegistrationTokenState[] = ['usable', 'used-up', 'expired', 'revoked'];

export function tokenExists(): MasToolError {
  return new MasToolError('MAS_TOOL_REGISTRATION_TOKEN_EXISTS', 'MAS already has a registration token with that text; nothing was issued.', {
    hint: 'Choose another --token, or leave --token out and let mas-tool make one up.',
  });
}

export function tokenNotFound(id: string): MasToolError {
  return new MasToolError('MAS_TOOL_REGISTRATION_TOKEN_NOT_FOUND', `No registration token has the id ${id}.`, {
    hint: '`mas-tool manage registration-token list` shows every token with its id.',
  });
}
