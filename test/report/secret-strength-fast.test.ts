// Generated hex secrets are judged strong without loading zxcvbn; everything else still goes to it,
// and for the generated ones zxcvbn agrees.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { looksGenerated, secretWeakness } from '../../src/secret-strength.js';
import { zxcvbn } from '../../src/zxcvbn.js';

describe('secrets that look generated', () => {
  it('recognises what openssl rand -hex and config generate write, and zxcvbn scores those at the top', () => {
    for (let i = 0; i < 40; i++) {
      const hex = randomBytes(16 + (i % 17)).toString('hex');
      // A random value may by chance hold a run or a sequence; then it is simply left to zxcvbn.
      if (!looksGenerated(hex)) continue;
      expect({ hex, score: zxcvbn().check(hex).score }).toEqual({ hex, score: 4 });
      expect(secretWeakness(hex)).toBeUndefined();
    }
    expect(looksGenerated('3f9c1e7a5b2d8064c1e9a7f3b5d20864')).toBe(true);
    expect(looksGenerated('3F9C1E7A5B2D8064C1E9A7F3B5D20864')).toBe(true);
  });

  it('leaves patterns, words, short values and mixed alphabets to zxcvbn', () => {
    for (const value of [
      '0123456789abcdef0123456789abcdef', // sequences
      'fedcba9876543210fedcba9876543210',
      'deadbeefdeadbeefdeadbeefdeadbeef', // few distinct digits
      'aaa9c1e7a5b2d8064c1e9a7f3b5d2086', // a run
      '3f9c1e7a5b2d8064c1e9a7f3b5d2086', // 31 digits
      '3f9c1e7a5B2d8064c1e9a7f3b5d20864', // mixed case
      'bench-shared-secret-between-mas-and-synapse',
    ]) {
      expect({ value, generated: looksGenerated(value) }).toEqual({ value, generated: false });
    }
    expect(secretWeakness('0123456789abcdef0123456789abcdef')).toBe('guessable');
    expect(secretWeakness('deadbeefdeadbeefdeadbeefdeadbeef')).toBe('guessable');
  });
});
