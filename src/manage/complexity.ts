// Password complexity as MAS judges it: MAS scores a new password with zxcvbn and refuses it when the
// score (0 to 4) is below `passwords.minimum_complexity` (default 3). On the database backend nothing
// else checks, so we must; @zxcvbn-ts is a port of the same estimator (same guess thresholds for the
// scores), so its verdict matches MAS's except for passwords right at a boundary.
//
// The dictionaries are several megabytes and building the matcher takes a noticeable fraction of a
// second, so both happen on the first check only: every other command starts without that cost.
// That is why the packages are loaded with require() (they ship CommonJS builds; a static import
// would load them whenever this module is imported, and import() would make the check async).
import { createRequire } from 'node:module';
import type { Secret } from '../secret.js';

type Core = typeof import('@zxcvbn-ts/core');
type Common = typeof import('@zxcvbn-ts/language-common');
type English = typeof import('@zxcvbn-ts/language-en');
type Checker = InstanceType<Core['ZxcvbnFactory']>;

export const DEFAULT_MINIMUM_COMPLEXITY = 3;

let checker: Checker | undefined;

function getChecker(): Checker {
  if (checker === undefined) {
    const require = createRequire(import.meta.url);
    const { ZxcvbnFactory } = require('@zxcvbn-ts/core') as Core;
    const common = require('@zxcvbn-ts/language-common') as Common;
    const en = require('@zxcvbn-ts/language-en') as English;
    // The original zxcvbn (which MAS's Rust crate follows) ships common passwords plus English words,
    // names and Wikipedia terms; the English package also gives readable feedback text.
    checker = new ZxcvbnFactory({
      dictionary: { ...common.dictionary, ...en.dictionary },
      graphs: common.adjacencyGraphs,
      translations: en.translations,
    });
  }
  return checker;
}

/**
 * zxcvbn's score, 0 (too guessable) to 4 (very unguessable). `userInputs` are words the password
 * should not lean on (the username, the display name): matching them lowers the score. MAS itself
 * passes none, so giving some makes the check stricter than MAS's, never looser.
 */
export function passwordScore(password: Secret, userInputs: readonly string[]): number {
  return getChecker().check(password.reveal(), [...userInputs]).score;
}

export interface ComplexityResult {
  ok: boolean;
  score: number;
  /** zxcvbn's warning and suggestions; they describe patterns and never quote the password. */
  feedback?: string;
}

export function checkComplexity(password: Secret, minimum: number, userInputs: readonly string[]): ComplexityResult {
  const result = getChecker().check(password.reveal(), [...userInputs]);
  const ok = result.score >= minimum;
  // Only the score and the fixed feedback sentences leave this function: the result object also
  // carries the password and the matched fragments of it.
  const parts = [result.feedback.warning ?? '', ...result.feedback.suggestions].map((s) => s.trim()).filter((s) => s !== '');
  if (ok || parts.length === 0) return { ok, score: result.score };
  return { ok, score: result.score, feedback: parts.join(' ') };
}
