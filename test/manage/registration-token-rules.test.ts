// What `registration-token issue` accepts, and how a token's state is judged, without any MAS.
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { GENERATED_TOKEN_LENGTH, generateRegistrationToken, parseExpires, parseUses, tokenProblem, tokenState } from '../../src/manage/registration-token-rules.js';

const NOW = new Date('2026-11-20T10:00:00.000Z');

function usage(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return error as UsageError;
  }
  throw new Error('expected a usage error');
}

describe('parseUses', () => {
  it('takes a whole number of 1 or more', () => {
    expect(parseUses('1')).toBe(1);
    expect(parseUses(' 25 ')).toBe(25);
  });

  it('refuses negative, zero, fractional and non-numeric counts with the flag in the message', () => {
    expect(usage(() => parseUses('-3')).message).toBe('--uses -3: a token must allow at least one registration.');
    expect(usage(() => parseUses('0')).hint).toContain('--unlimited');
    expect(usage(() => parseUses('2.5')).message).toMatch(/^--uses 2\.5: give a whole number/);
    expect(usage(() => parseUses('many')).message).toMatch(/^--uses many: give a whole number/);
    expect(usage(() => parseUses('99999999999')).message).toContain('at most 2147483647');
  });
});

describe('parseExpires', () => {
  it('reads a date as the end of that day in UTC', () => {
    expect(parseExpires('2026-12-31', NOW)).toBe('2027-01-01T00:00:00.000Z');
  });

  it('reads a date and time with its zone, Z or an offset', () => {
    expect(parseExpires('2026-12-31T18:00:00Z', NOW)).toBe('2026-12-31T18:00:00.000Z');
    expect(parseExpires('2026-12-31 18:00+01:00', NOW)).toBe('2026-12-31T17:00:00.000Z');
    expect(parseExpires('2026-12-31T18:00:30.250-0500', NOW)).toBe('2026-12-31T23:00:30.250Z');
  });

  it('reads a duration from now', () => {
    expect(parseExpires('7d', NOW)).toBe('2026-11-27T10:00:00.000Z');
    expect(parseExpires('12h', NOW)).toBe('2026-11-20T22:00:00.000Z');
    expect(parseExpires('30m', NOW)).toBe('2026-11-20T10:30:00.000Z');
    expect(parseExpires('2w', NOW)).toBe('2026-12-04T10:00:00.000Z');
  });

  it('refuses malformed dates, impossible dates, a time without a zone, and the past', () => {
    expect(usage(() => parseExpires('next tuesday', NOW)).message).toBe('--expires next tuesday: not a date, date and time, or duration mas-tool understands.');
    expect(usage(() => parseExpires('next tuesday', NOW)).hint).toContain('2026-12-31T18:00:00Z');
    expect(usage(() => parseExpires('2026-02-30', NOW)).message).toBe('--expires 2026-02-30: there is no such date.');
    expect(usage(() => parseExpires('2026-12-31T25:00Z', NOW)).message).toContain('no such date or time');
    expect(usage(() => parseExpires('2026-12-31T18:00', NOW)).message).toContain('needs its time zone');
    expect(usage(() => parseExpires('2026-01-01', NOW)).message).toBe('--expires 2026-01-01 is 2026-01-02T00:00:00.000Z, which has already passed.');
  });
});

describe('tokenProblem', () => {
  it('accepts what Matrix clients accept and says what is wrong otherwise, without quoting the token', () => {
    expect(tokenProblem('Invite-2026_a.b~c')).toBeUndefined();
    expect(tokenProblem('')).toBe('the token is empty');
    expect(tokenProblem('a'.repeat(65))).toContain('at most 64');
    const problem = tokenProblem('secret token!');
    expect(problem).toContain('position 7');
    expect(problem).not.toContain('secret');
  });
});

describe('tokenState', () => {
  const base = { revokedAt: null, expiresAt: null, usageLimit: 3, timesUsed: 1 };
  it('is usable, used-up, expired or revoked, revoked winning over the others', () => {
    expect(tokenState(base, NOW)).toBe('usable');
    expect(tokenState({ ...base, timesUsed: 3 }, NOW)).toBe('used-up');
    expect(tokenState({ ...base, usageLimit: null, timesUsed: 1000 }, NOW)).toBe('usable');
    expect(tokenState({ ...base, expiresAt: '2026-11-20T10:00:00.000Z' }, NOW)).toBe('expired');
    expect(tokenState({ ...base, timesUsed: 3, expiresAt: '2026-01-01T00:00:00.000Z', revokedAt: '2026-02-01T00:00:00.000Z' }, NOW)).toBe('revoked');
  });
});

describe('generateRegistrationToken', () => {
  it('makes 12 letters and digits, different every time', () => {
    const made = new Set(Array.from({ length: 200 }, () => generateRegistrationToken()));
    expect(made.size).toBe(200);
    for (const t of made) expect(t).toMatch(new RegExp(`^[A-Za-z0-9]{${GENERATED_TOKEN_LENGTH}}$`));
  });
});
