import { describe, expect, it } from 'vitest';
import { checkComplexity, DEFAULT_MINIMUM_COMPLEXITY, passwordScore } from '../../src/manage/complexity.js';
import { Secret } from '../../src/secret.js';

const secret = (s: string): Secret => Secret.fromString(s);

describe('password complexity (MAS minimum_complexity)', () => {
  it('refuses common passwords at the default minimum of 3, with feedback', () => {
    expect(DEFAULT_MINIMUM_COMPLEXITY).toBe(3);
    for (const p of ['password', 'hunter2', '12345678', 'qwertyuiop']) {
      const result = checkComplexity(secret(p), 3, []);
      expect(result.ok, p).toBe(false);
      expect(result.score, p).toBeLessThan(3);
      expect(result.feedback, p).toMatch(/\w/);
    }
  });

  it('accepts a long random passphrase', () => {
    const result = checkComplexity(secret('vermilion trapeze oxidize quantum gutter'), 3, []);
    expect(result).toEqual({ ok: true, score: 4 });
  });

  it('scores from 0 to 4, and the minimum decides', () => {
    const score = passwordScore(secret('hunter2'), []);
    expect(score).toBeGreaterThanOrEqual(0);
    expect(score).toBeLessThanOrEqual(4);
    expect(checkComplexity(secret('hunter2'), 0, []).ok).toBe(true);
    expect(checkComplexity(secret('hunter2'), score, []).ok).toBe(true);
    expect(checkComplexity(secret('hunter2'), score + 1, []).ok).toBe(false);
  });

  it('scores a password lower when it contains the username given as user input', () => {
    const password = secret('zephyrinekw1987!');
    const without = passwordScore(password, []);
    const withName = passwordScore(password, ['zephyrinekw']);
    expect(withName).toBeLessThan(without);
    const result = checkComplexity(password, 3, ['zephyrinekw']);
    expect(result.ok).toBe(false);
    expect(result.feedback).toMatch(/personal/i);
  });

  it('never puts the password into the feedback', () => {
    // (Not 'password' itself: zxcvbn's sentences use that word.)
    for (const p of ['hunter2', 'Passw0rd1', 'aaaaaaaaaa', 'abcdefgh', 'qwerty2019', 'alice1990']) {
      const result = checkComplexity(secret(p), 4, ['alice']);
      expect(result.ok).toBe(false);
      expect(result.feedback ?? '').not.toContain(p);
      expect(result.feedback ?? '').not.toContain(p.toLowerCase());
    }
  });
});
