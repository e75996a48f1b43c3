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
  if (value.length > JUDGED_LENGTH || looksGenerated(value)) return undefined;
  return zxcvbn().check(value).score < STRONG_SCORE ? 'guessable' : undefined;
}

/**
 * A hex string of 32 or more digits as `openssl rand -hex` and `mas-tool config generate` write
 * them: evenly spread digits, no run of three equal ones, no four in ascending or descending order.
 * zxcvbn finds no word or pattern in such a value and scores it at the top, so it is judged without
 * loading zxcvbn, whose dictionaries and matcher cost a quarter of a second and some 100 MiB of
 * memory. Anything else, patterned or not, goes to zxcvbn.
 */
export function looksGenerated(value: string): boolean {
  if (value.length < 32 || !/^(?:[0-9a-f]+|[0-9A-F]+)$/.test(value)) return false;
  const counts = new Map<string, number>();
  for (const c of value) counts.set(c, (counts.get(c) ?? 0) + 1);
  let bitsPerDigit = 0;
  for (const n of counts.values()) bitsPerDigit -= (n / value.length) * Math.log2(n / value.length);
  // A random hex string carries close to 4 bits per digit; 3.5 leaves room for chance at 32 digits.
  if (bitsPerDigit < 3.5) return false;
  const code = (i: number): number => parseInt(value[i] ?? '', 16);
  for (let i = 0; i + 2 < value.length; i++) {
    if (value[i] === value[i + 1] && value[i] === value[i + 2]) return false;
    if (i + 3 < value.length) {
      const steps = [code(i + 1) - code(i), code(i + 2) - code(i + 1), code(i + 3) - code(i + 2)];
      if (steps.every((d) => d === 1) || steps.every((d) => d === -1)) return false;
    }
  }
  return true;
}

export function describeWeakness(weakness: SecretWeakness): string {
  return weakness === 'short' ? `shorter than ${MIN_SECRET_LENGTH} characters` : 'easy to guess (a dictionary word, a name or a pattern)';
}
