// When a secret is weak: short, or guessable by zxcvbn. A weak secret is a risk in itself, and it
// cannot be told apart from the ordinary words of mas-tool's own messages ("database", "PEPPER" in
// E_PASSWORD_PEPPER_MISMATCH), so the output layer scrubs only strong secrets everywhere and weak
// ones only from text that comes from outside (src/secret.ts); the weak-secret findings say so.
import { zxcvbn } from './zxcvbn.js';

/** Shorter than this is weak, whatever it is made of (a random 16-character value has some 95 bits). */
export const MIN_SECRET_LENGTH = 16;

/**
 * zxcvbn's top score (at least 10^10 guesses). Dictionary words, names, keyboard runs, repetitions
 * and dates score lower even when long ("Synapse database" scores 3).
 */
const STRONG_SCORE = 4;

// zxcvbn's time grows with the length, and a value this long is not an ordinary word of anything.
const JUDGED_LENGTH = 100;

export type SecretWeakness = 'short' | 'guessable';

export function secretWeakness(value: string): SecretWeakness | undefined {
  if ([...value].length < MIN_SECRET_LENGTH) return 'short';
  if (value.length > JUDGED_LENGTH) return undefined;
  return zxcvbn().check(value).score < STRONG_SCORE ? 'guessable' : undefined;
}

export function describeWeakness(weakness: SecretWeakness): string {
  return weakness === 'short' ? `shorter than ${MIN_SECRET_LENGTH} characters` : 'easy to guess (a dictionary word, a name or a pattern)';
}
