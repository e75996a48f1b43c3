// Password complexity as MAS judges it: MAS scores a new password with zxcvbn and refuses it when the
// score (0 to 4) is below `passwords.minimum_complexity` (default 3). On the database backend nothing
// else checks, so we must; @zxcvbn-ts is a port of the same estimator (same guess thresholds for the
// scores), so its verdict matches MAS's except for passwords right at a boundary.
//
// The estimator itself, loaded on first use, is shared with the weak-secret findings (src/zxcvbn.ts).
import type { Secret } from '../secret.js';
import { zxcvbn } from '../zxcvbn.js';

export const DEFAULT_MINIMUM_COMPLEXITY = 3;

/**
 * zxcvbn's score, 0 (too guessable) to 4 (very unguessable). `userInputs` are words the password
 * should not lean on (the username, the display name): matching them lowers the score. MAS itself
 * passes none, so giving some makes the check stricter than MAS's, never looser.
 */
export function passwordScore(password: Secret, userInputs: readonly string[]): number {
  return zxcvbn().check(password.reveal(), [...userInputs]).score;
}

export interface ComplexityResult {
  ok: boolean;
  score: number;
  /** zxcvbn's warning and suggestions; they describe patterns and never quote the password. */
  feedback?: string;
}

export function checkComplexity(password: Secret, minimum: number, userInputs: readonly string[]): ComplexityResult {
  const result = zxcvbn().check(password.reveal(), [...userInputs]);
  const ok = result.score >= minimum;
  // Only the score and the fixed feedback sentences leave this function: the result object also
  // carries the password and the matched fragments of it.
  const parts = [result.feedback.warning ?? '', ...result.feedback.suggestions].map((s) => s.trim()).filter((s) => s !== '');
  if (ok || parts.length === 0) return { ok, score: result.score };
  return { ok, score: result.score, feedback: parts.join(' ') };
}
